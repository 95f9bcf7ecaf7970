"""The credential chain (lib/aws/creds) through tests/tools/aws_creds, against
real files, a real credential_process program and the IMDSv2 and container
endpoint fixtures.  No secret may ever show up in the driver's output."""
import json

import pytest

from support.jbtest import bin_path, run
from support.fixture_servers import FIXTURES, PY, clean_aws_env, fixture_server

SECRETS = ["envSecret/DoNotLeak", "fileSecret/DoNotLeak", "configSecret/DoNotLeak",
           "DoNotLeak", "FixtureTOKEN"]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    clean_aws_env(monkeypatch, tmp_path)
    (tmp_path / ".aws").mkdir()
    return tmp_path


def creds(*args, check=0, env=None):
    cp = run([bin_path("tools/aws_creds"), *args], env=env, check=check, timeout=60)
    for s in SECRETS:
        assert s not in cp.stdout and s not in cp.stderr, "a secret leaked"
    return json.loads(cp.stdout) if check == 0 else cp


def write(path, text):
    path.write_text(text)
    path.chmod(0o600)
    return path


def process_line(mode, *extra):
    return " ".join([PY, str(FIXTURES / "credential_process.py"), mode, *extra])


def test_environment_wins_over_files(aws_env, monkeypatch):
    write(aws_env / ".aws/credentials",
          "[default]\naws_access_key_id = AKIAFILE0000000000\n"
          "aws_secret_access_key = fileSecret/DoNotLeak\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV00000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envSecret/DoNotLeak")
    g = creds()["gets"][0]
    assert (g["source"], g["access_key_id"], g["has_token"]) == ("env", "AKIAENV00000000000",
                                                                False)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "envTOKEN")
    assert creds()["gets"][0]["has_token"] is True


def test_half_set_environment_is_an_error_naming_the_missing_variable(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV00000000000")
    cp = creds(check=1)
    assert "AWS_SECRET_ACCESS_KEY is not" in cp.stderr


def test_credentials_file_default_and_named_profiles(aws_env, monkeypatch):
    write(aws_env / ".aws/credentials",
          "# comment\n[default]\naws_access_key_id = AKIADEFAULT0000000\n"
          "aws_secret_access_key = fileSecret/DoNotLeak\n\n"
          "[dev]\nAWS_ACCESS_KEY_ID=AKIADEV00000000000\naws_secret_access_key=fileSecret/DoNotLeak\n"
          "aws_session_token = fileTOKEN\n")
    write(aws_env / ".aws/config", "[profile dev]\nregion = eu-north-1\n[default]\n"
                                   "region = us-west-2\n")
    g = creds("--region")
    assert g["gets"][0]["source"] == "shared-credentials-file"
    assert g["gets"][0]["access_key_id"] == "AKIADEFAULT0000000"
    assert g["region"] == "us-west-2"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    g = creds("--region")
    assert g["gets"][0]["access_key_id"] == "AKIADEV00000000000"
    assert g["gets"][0]["has_token"] is True
    assert g["region"] == "eu-north-1"
    g = creds("--profile", "default")
    assert g["gets"][0]["access_key_id"] == "AKIADEFAULT0000000"


def test_files_from_the_environment_variables(aws_env, monkeypatch):
    c = write(aws_env / "elsewhere-creds", "[ops]\naws_access_key_id = AKIAOPS00000000000\n"
                                           "aws_secret_access_key = fileSecret/DoNotLeak\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(c))
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert creds()["gets"][0]["access_key_id"] == "AKIAOPS00000000000"


def test_config_file_keys_need_the_profile_prefix(aws_env, monkeypatch):
    cfg = write(aws_env / "cfg", "[qa]\naws_access_key_id = AKIAWRONG000000000\n"
                                 "aws_secret_access_key = configSecret/DoNotLeak\n"
                                 "[profile qa]\naws_access_key_id = AKIAQA000000000000\n"
                                 "aws_secret_access_key = configSecret/DoNotLeak\nregion=ca-central-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_PROFILE", "qa")
    g = creds("--region")
    assert g["gets"][0]["source"] == "shared-config-file"
    assert g["gets"][0]["access_key_id"] == "AKIAQA000000000000"
    assert g["region"] == "ca-central-1"


def test_unknown_profile_is_named(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    cp = creds(check=1)
    assert "profile 'nosuch'" in cp.stderr


def test_nothing_configured_says_what_was_tried():
    cp = creds(check=1)
    assert "no AWS credentials found" in cp.stderr
    assert "AWS_EC2_METADATA_DISABLED" in cp.stderr


def test_credential_process_with_quoted_arguments(aws_env):
    # "a b" must reach the program as ONE argument: argv is split like a
    # shell would, but no shell runs.
    write(aws_env / ".aws/config",
          f'[default]\ncredential_process = {process_line("argv", chr(34) + "a b" + chr(34), "c")}\n')
    g = creds()["gets"][0]
    assert g["source"] == "credential-process"
    assert g["access_key_id"] == "ASIAPROCESSARGS3XY"
    assert g["has_token"] is True
    assert g["expiration"] > 0


def test_credential_process_is_refreshed_before_it_expires(aws_env):
    counter = aws_env / "count"
    write(aws_env / ".aws/config",
          f"[default]\ncredential_process = {process_line('counter', str(counter), '1200')}\n")
    # Expires 20 min after start: at +10 min still good, at +16 min (under 5
    # min left) the provider must fetch new ones before they expire.
    gets = creds("--at", "0", "--at", "600", "--at", "960")["gets"]
    assert [g["access_key_id"] for g in gets] == [
        "ASIAPROCESSCOUNT0001", "ASIAPROCESSCOUNT0001", "ASIAPROCESSCOUNT0002"]
    assert counter.read_text() == "2"


@pytest.mark.parametrize("mode,message", [
    ("fail", "exited with status 1"),
    ("garbage", "answer is not a JSON object"),
    ("noversion", "Version is missing"),
    ("expired", "credentials expired at"),
])
def test_credential_process_failures_are_named(aws_env, mode, message):
    write(aws_env / ".aws/config", f"[default]\ncredential_process = {process_line(mode)}\n")
    cp = creds(check=1)
    assert "credential_process" in cp.stderr
    assert message in cp.stderr


def test_credential_process_timeout_kills_it(aws_env):
    write(aws_env / ".aws/config", f"[default]\ncredential_process = {process_line('slow')}\n")
    cp = creds(check=1, env={"AWS_CREDS_PROCESS_TIMEOUT_MS": "1500"})
    assert "no answer within 1500 ms" in cp.stderr


def test_credential_process_missing_program(aws_env):
    write(aws_env / ".aws/config", "[default]\ncredential_process = no-such-program-jb --x\n")
    cp = creds(check=1)
    assert "'no-such-program-jb' is not on PATH" in cp.stderr


def test_credential_process_unterminated_quote(aws_env):
    write(aws_env / ".aws/config", "[default]\ncredential_process = prog 'open\n")
    cp = creds(check=1)
    assert "unterminated quote" in cp.stderr


def test_container_endpoint_with_token(monkeypatch):
    with fixture_server("container_creds_server.py", "--token", "Bearer sekrit") as port:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           f"http://127.0.0.1:{port}/v2/credentials/fixture")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer sekrit")
        g = creds()["gets"][0]
        assert (g["source"], g["access_key_id"]) == ("container", "ASIACONTAINERFIXTURE")
        assert g["has_token"] is True
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong")
        cp = creds(check=1)
        assert "container credentials endpoint answered HTTP 401" in cp.stderr
        assert "wrong" not in cp.stderr


def test_container_token_file_wins_over_token_variable(aws_env, monkeypatch):
    tok = write(aws_env / "token", "file-token\n")
    with fixture_server("container_creds_server.py", "--token", "file-token") as port:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           f"http://127.0.0.1:{port}/v2/credentials/fixture")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token")
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(tok))
        assert creds()["gets"][0]["source"] == "container"


@pytest.mark.parametrize("mode,message", [
    ("malformed", "container credentials endpoint: answer is not a JSON object"),
    ("expired", "container credentials endpoint: credentials expired at"),
    ("error", "answered HTTP 500"),
])
def test_container_endpoint_faults(monkeypatch, mode, message):
    with fixture_server("container_creds_server.py", "--mode", mode) as port:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           f"http://127.0.0.1:{port}/v2/credentials/fixture")
        cp = creds(check=1)
        assert message in cp.stderr


def test_container_full_uri_must_not_leave_the_host_over_http(monkeypatch):
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds")
    cp = creds(check=1)
    assert "loopback" in cp.stderr


def test_imdsv2(monkeypatch):
    with fixture_server("imds_server.py") as port:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{port}/")
        g = creds()["gets"][0]
        assert g["source"] == "imds"
        assert g["access_key_id"].startswith("ASIAIMDSFIXTURE")
        assert g["has_token"] is True
        log = json.loads(run(["curl", "-s", f"http://127.0.0.1:{port}/_fixture/log"]).stdout)
        assert log[0]["method"] == "PUT" and log[0]["path"] == "/latest/api/token"
        assert log[0]["headers"]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
        assert all("x-aws-ec2-metadata-token" in e["headers"] for e in log[1:])


@pytest.mark.parametrize("mode,message,code", [
    ("malformed", "IMDS role credentials: answer is not a JSON object", 1),
    ("expired", "IMDS role credentials: credentials expired at", 1),
    ("notoken", "IMDS: token request answered HTTP 403", 1),
    ("norole", "no instance role attached", 1),
])
def test_imds_faults(monkeypatch, mode, message, code):
    with fixture_server("imds_server.py", "--mode", mode) as port:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{port}")
        cp = creds(check=code)
        assert message in cp.stderr


def test_imds_refreshes_before_expiry(monkeypatch):
    with fixture_server("imds_server.py", "--expires-in", "900") as port:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{port}")
        gets = creds("--at", "0", "--at", "300", "--at", "700")["gets"]
        keys = [g["access_key_id"] for g in gets]
        assert keys[0] == keys[1] != keys[2]


def test_chain_order_files_before_container_before_imds(aws_env, monkeypatch):
    with fixture_server("imds_server.py") as iport, \
            fixture_server("container_creds_server.py") as cport:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{iport}")
        assert creds()["gets"][0]["source"] == "imds"
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           f"http://127.0.0.1:{cport}/v2/credentials/fixture")
        assert creds()["gets"][0]["source"] == "container"
        write(aws_env / ".aws/credentials", "[default]\naws_access_key_id = AKIAFILE0000000000\n"
                                            "aws_secret_access_key = fileSecret/DoNotLeak\n")
        assert creds()["gets"][0]["source"] == "shared-credentials-file"


def test_region_order(aws_env, monkeypatch):
    write(aws_env / ".aws/config", "[default]\nregion = eu-west-3\n")
    assert creds("--region", env={"AWS_ACCESS_KEY_ID": "AKIAENV00000000000",
                                  "AWS_SECRET_ACCESS_KEY": "envSecret/DoNotLeak"})["region"] \
        == "eu-west-3"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV00000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envSecret/DoNotLeak")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    assert creds("--region")["region"] == "sa-east-1"
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert creds("--region")["region"] == "us-east-2"
    monkeypatch.setenv("AWS_REGION", "Not A Region")
    assert "AWS_REGION" in creds("--region", check=1).stderr
