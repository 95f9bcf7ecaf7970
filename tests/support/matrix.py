"""Rows of the fault matrix, printed by each suite's conftest at the end of the run."""
MATRIX = []


def print_matrix(w, title, stage_width=9):
    """The table: stage x fault -> outcome, orphans (must total 0)."""
    if not MATRIX:
        return
    w.section(title)
    w.write_line(f"{'stage':<{stage_width}} {'fault':<46} {'outcome':<46} orphans")
    for stage, fault, outcome, orphans in MATRIX:
        w.write_line(f"{stage:<{stage_width}} {fault:<46} {outcome:<46} {orphans}")
    w.write_line(f"orphans found in all: {sum(o for *_, o in MATRIX)} (must be 0)")
