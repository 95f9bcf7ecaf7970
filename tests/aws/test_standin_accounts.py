"""The EC2 stand-in's accounts never depend on this machine's (issue 22): a
machine that has a user of the box user's name (`useradd jump`) or uid must
not shadow the box's user, or every stand-in login fails."""
from support.ec2_standin import BOX_UID, box_accounts

HOST_PASSWD = ("root:x:0:0:root:/root:/bin/bash\n"
               "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n"
               "jump:x:1001:1001:a machine's own jump:/home/jump:/bin/sh\n"
               f"other:x:{BOX_UID}:{BOX_UID}::/home/other:/bin/sh\n")
HOST_GROUP = "root:x:0:\njump:x:1001:\nnogroup:x:65534:\n"


def test_the_box_user_is_the_only_account_of_its_name_and_uid():
    passwd, group = box_accounts(HOST_PASSWD, HOST_GROUP, "jump")
    rows = [line.split(":") for line in passwd.splitlines()]
    assert [r for r in rows if r[0] == "jump"] == [
        ["jump", "x", str(BOX_UID), str(BOX_UID), "jumpbox user", "/home/jump", "/bin/bash"]]
    assert [r[0] for r in rows if r[2] == str(BOX_UID)] == ["jump"]
    # sshd's privilege separation user is still there.
    assert ["sshd", "x", "100", "65534", "", "/run/sshd", "/usr/sbin/nologin"] in rows
    assert [g for g in group.splitlines() if g.startswith("jump:")] == [f"jump:x:{BOX_UID}:"]
    assert "nogroup:x:65534:" in group.splitlines()
