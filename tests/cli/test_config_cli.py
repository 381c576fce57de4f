"""`edge config`, and --config with the pipeline flags, run in-process through main()."""

import io
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from edge.cli.main import build_parser, main
from edge.cli.options import flags_markdown, pipeline_options
from edge.config import Config, example_toml, load_config
from edge.errors import ConfigError
from edge.pipeline.options import PipelineOptions

ROOT = Path(__file__).parents[2]
TOKEN = "s3cret-token-0123456789"


pytestmark = pytest.mark.usefixtures("clean_config")


def edge(*argv):
    """Exit status, stdout and stderr of `edge ARGV...` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv), stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_config_prints_the_effective_configuration_that_loads_back(tmp_path, monkeypatch):
    """`edge config` prints file and EDGE_ values as TOML that loads to the same configuration."""
    Path("edge.toml").write_text('[server]\nport = 9001\n[privacy]\nshare = "cues"\n')
    monkeypatch.setenv("EDGE_PIPELINE__CUES__RAISE_AT", "0.7")
    code, out, err = edge("config")
    assert code == 0, err
    assert "port = 9001" in out and "raise_at = 0.7" in out
    printed = tmp_path / "printed" / "edge.toml"
    printed.parent.mkdir()
    printed.write_text(out)
    assert load_config(printed, environ={}) == load_config()


def test_config_masks_secrets():
    """Tokens and forward_token are printed as "***", never in the clear."""
    Path("edge.toml").write_text(
        f'[capture]\nforward_token = "fwd-secret"\n'
        f'[[tokens]]\ntoken = "{TOKEN}"\nrole = "ingest"\nsource = "pbx"\n'
    )
    code, out, _ = edge("config")
    assert code == 0
    assert TOKEN not in out and "fwd-secret" not in out
    assert 'token = "***"' in out and 'forward_token = "***"' in out


def test_config_with_no_file_prints_the_defaults(tmp_path):
    """With no file, `edge config` prints the defaults."""
    code, out, _ = edge("config")
    assert code == 0
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "out.toml").write_text(out)
    assert load_config(tmp_path / "sub" / "out.toml", environ={}) == Config()


def test_config_check_ok(tmp_path):
    """`edge config --check` prints FILE: ok and exits 0 on a valid file."""
    path = tmp_path / "site.toml"
    path.write_text("[server]\nport = 9001\n")
    assert edge("config", "--check", "--config", str(path)) == (0, f"{path}: ok\n", "")
    assert edge("config", "--check")[1] == "no config file: ok\n"


@pytest.mark.parametrize(
    "toml,env,message",
    [
        ("[server]\nport = 70000\n", {}, "edge.toml: [server] port = 70000: must be"),
        ("[sever]\n", {}, "edge.toml: unknown section [sever]: did you mean [server]?"),
        ("[server\n", {}, "edge.toml: invalid TOML at line 1"),
        (None, {"EDGE_SERVER__PORT": "abc"}, "EDGE_SERVER__PORT=abc: must be"),
    ],
)
def test_config_check_fails_with_one_line(monkeypatch, toml, env, message):
    """An invalid configuration: exit 1 and one line `edge: error: ...` naming the key."""
    if toml is not None:
        Path("edge.toml").write_text(toml)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    code, out, err = edge("config", "--check")
    assert code == 1 and out == ""
    assert err.startswith("edge: error: " + message) and err.count("\n") == 1


def test_config_example_is_the_example_file():
    """`edge config --example` prints edge.toml.example, even beside a broken edge.toml."""
    Path("edge.toml").write_text("[broken\n")
    code, out, _ = edge("config", "--example")
    assert code == 0 and out == example_toml()


def test_missing_config_file_is_an_error():
    """--config naming no file is one line and exit 1."""
    code, _, err = edge("config", "--config", "nope.toml")
    assert code == 1 and err == (
        "edge: error: nope.toml: no such file; give an existing file (--config or $EDGE_CONFIG), "
        "or none to use the defaults\n"
    )


def test_replay_checks_the_config_at_start():
    """`edge replay` stops on a bad config before it opens any audio."""
    Path("edge.toml").write_text("[pipeline.vad]\nthreshold = 2\n")
    code, _, err = edge("replay", "no/such/file.wav")
    assert code == 1
    assert err == (
        "edge: error: edge.toml: [pipeline.vad] threshold = 2: must be a number from 0.05 to 0.95\n"
    )


def replay_options(*argv):
    args = build_parser().parse_args(["replay", "x.wav", *argv])
    return pipeline_options(args, load_config(args.config).pipeline)


def test_flags_override_the_file_and_the_file_the_defaults(tmp_path):
    """A pipeline flag beats the config file; settings without a flag keep the file's value."""
    path = tmp_path / "site.toml"
    path.write_text("[pipeline.asr]\nfinal_beam_size = 7\n[pipeline.vad]\nthreshold = 0.6\n")
    options = replay_options("--config", str(path), "--beam-size", "3", "--no-text")
    assert options.asr.final_beam_size == 3
    assert options.vad.threshold == 0.6
    assert options.text is False
    options = replay_options("--config", str(path))
    assert options.asr.final_beam_size == 7 and options.text is True


def test_no_config_no_flags_is_the_old_default():
    """Without a config file or flags, `edge replay` runs with PipelineOptions() as before."""
    assert replay_options() == PipelineOptions()


def test_docs_flags_table_is_current():
    """The flags table in docs/configuration.md is what the setting declarations give."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    table = re.search(r"<!-- flags: begin -->\n(.*)<!-- flags: end -->", text, re.S)
    assert table is not None and table.group(1) == flags_markdown(), (
        "the flags table of docs/configuration.md is stale: run `make docs`"
    )


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--beam-size", "11"], "--beam-size 11 is out of range: must be an integer from 1 to 10"),
        (["--threads", "-1"], "--threads -1 is out of range: must be 0 (all cores, up to 4) or"),
        (["--partial-interval", "0.1"], "--partial-interval 0.1 is out of range: must be 0 (no"),
    ],
)
def test_flag_values_are_checked_by_their_setting_limits(argv, message):
    """A flag outside its setting's range is one line naming the flag and what is allowed."""
    with pytest.raises(ConfigError) as caught:
        replay_options(*argv)
    assert str(caught.value).startswith(message)


def test_flags_default_to_none_so_only_given_ones_override():
    """Every pipeline flag parses to None when absent, so the file's value stands."""
    args = build_parser().parse_args(["replay", "x.wav"])
    for dest in ("beam_size", "threads", "vad_threshold", "no_text", "no_emotion", "model"):
        assert getattr(args, dest) is None
