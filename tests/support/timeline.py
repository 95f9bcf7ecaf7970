#!/usr/bin/env python3
"""An SVG timeline of stacks' lives from their durable audit records
(`provisioner audit` JSON lines on stdin, SVG on stdout): per stack, from
its create, the time it was being made, its life once ready, every
extension, its keep-alive's end and its cap as the destroy record says
them, and how it ended.  The README's picture is this, drawn from the
records of tests/integration/test_keepalive.py's own run."""
import calendar
import json
import sys
import time
from xml.sax.saxutils import escape

ROW, LEFT, WIDTH = 46, 130, 860


def t(stamp):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def stacks(lines):
    out = {}
    for line in lines:
        r = json.loads(line)
        s = out.setdefault(r["stack_id"], {"extends": []})
        if r["event"] == "create":
            s.update(start=t(r["created_at"]), expires=t(r["expires_at"]),
                     keepalive=r.get("keepalive_s"))
        elif r["event"] == "ready":
            s["ready"] = t(r["time"])
        elif r["event"] == "extend":
            s["extends"].append((t(r["time"]), t(r["expires_at"])))
        elif r["event"] == "destroy":
            s.update(end=t(r["started_at"]), why=r.get("ended_by") or r["reason"],
                     alive=t(r["alive_until"]) if "alive_until" in r else None,
                     expires=t(r["expires_at"]))
    return {k: v for k, v in out.items() if "start" in v and "end" in v}


def svg(by_stack):
    span = max(max(s["end"] - s["start"] for s in by_stack.values()), 1) * 1.15
    x = lambda s, when: LEFT + (WIDTH - LEFT - 290) * min(when - s["start"], span) / span
    h = ROW * len(by_stack) + 50
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" '
         'font-family="sans-serif" font-size="12">',
         f'<rect width="{WIDTH}" height="{h}" fill="white"/>']
    for i, (sid, s) in enumerate(sorted(by_stack.items(), key=lambda kv: kv[1]["start"])):
        y = 20 + i * ROW
        ka = f' (keep-alive {s["keepalive"]}s)' if s.get("keepalive") else ""
        o.append(f'<text x="4" y="{y + 16}">{escape(sid)}{escape(ka)}</text>')
        ready = s.get("ready", s["end"])
        o.append(f'<rect x="{x(s, s["start"]):.1f}" y="{y + 4}" width="'
                 f'{x(s, ready) - x(s, s["start"]):.1f}" height="16" fill="#bbb"/>')
        o.append(f'<rect x="{x(s, ready):.1f}" y="{y + 4}" width="'
                 f'{max(x(s, s["end"]) - x(s, ready), 1):.1f}" height="16" fill="#4a4"/>')
        for when, _ in s["extends"]:
            o.append(f'<line x1="{x(s, when):.1f}" x2="{x(s, when):.1f}" y1="{y}" y2="{y + 24}" '
                     'stroke="#36c" stroke-width="2"/>')
        if s.get("alive"):
            o.append(f'<line x1="{x(s, s["alive"]):.1f}" x2="{x(s, s["alive"]):.1f}" y1="{y}" '
                     f'y2="{y + 24}" stroke="#e80" stroke-dasharray="3,2" stroke-width="2"/>')
        cap = "expiry at +%ds" % (s["expires"] - s["start"])
        o.append(f'<text x="{x(s, s["end"]) + 4:.1f}" y="{y + 16}">ended: '
                 f'{escape(s["why"])} at +{s["end"] - s["start"]}s; {cap}</text>')
    o.append(f'<text x="4" y="{h - 10}" fill="#555">grey: being made; green: ready; blue: '
             'extend; orange dashed: alive_until at the end. Seconds from each create.</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    sys.stdout.write(svg(stacks(sys.stdin)))
