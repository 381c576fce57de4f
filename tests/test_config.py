"""edge.config: the TOML file, the EDGE_* overrides and the checks, without models."""

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from edge.config import (
    Config,
    check_serve,
    config_to_toml,
    example_toml,
    load_config,
    settings_markdown,
)
from edge.errors import ConfigError
from edge.languages import WHISPER_LANGUAGES
from edge.server.options import PrivacyOptions, ServerOptions, Share, TokenRole, TokenSpec
from edge.settings import declared
from edge.stages.voice import EmotionOptions
from edge.types import Role

ROOT = Path(__file__).parents[1]
TOKEN = "s3cret-token-0123456789"


pytestmark = pytest.mark.usefixtures("clean_config")


def write(tmp_path, text, name="edge.toml"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    """With no file and no variables the configuration is the defaults."""
    assert load_config(environ={}) == Config()


def test_example_file_loads_to_the_defaults():
    """edge.toml.example sets every setting to its default, so it loads to Config()."""
    assert load_config(ROOT / "edge.toml.example", environ={}) == Config()


def test_example_file_is_current():
    """edge.toml.example is what example_toml() derives from the declarations."""
    assert (ROOT / "edge.toml.example").read_text() == example_toml(), (
        "edge.toml.example is stale: run `make docs`"
    )


def test_docs_table_is_current():
    """The settings table in docs/configuration.md is what settings_markdown() prints."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    table = re.search(r"<!-- settings: begin -->\n(.*)<!-- settings: end -->", text, re.S)
    assert table is not None and table.group(1) == settings_markdown(), (
        "the settings table of docs/configuration.md is stale: run `make docs`"
    )


def sections(cls=Config, key=""):
    """(dotted key, options class) of every section below ``cls``."""
    for f in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[f.name]
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
        if dataclasses.is_dataclass(inner):
            yield f"{key}{f.name}", inner
            yield from sections(inner, f"{key}{f.name}.")


def test_every_section_says_where_it_sits_and_what_it_is_for():
    """Each options class names its own place in the file (for its messages) and has help."""
    for key, cls in sections():
        assert key == cls.SECTION, cls
        assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("), cls
    for key, cls in sections():
        for f in dataclasses.fields(cls):
            if not dataclasses.is_dataclass(typing.get_type_hints(cls)[f.name]):
                assert declared(f).help, f"{key}.{f.name} has no help"


def test_options_classes_check_their_declarations():
    """Options built in code are refused by the same limits and rules the loader applies."""
    with pytest.raises(ConfigError, match=r"^server\.port = 70000: must be 0 \(any free port\)"):
        ServerOptions(port=70000)
    with pytest.raises(ConfigError, match=r"^server\.allowed_origins = .*: item 1"):
        ServerOptions(allowed_origins=("https://a.b/x",))
    with pytest.raises(
        ConfigError, match=r"^pipeline\.emotion\.onset_hop = 0\.75: must be at most hop"
    ):
        EmotionOptions(onset_hop=0.75)


def test_file_values_are_typed():
    """TOML values become the options' types: enums, tuples, floats from integers, paths."""
    path = write(
        Path.cwd(),
        """
        [pipeline]
        text = false
        [pipeline.emotion]
        roles = ["caller", "agent"]
        [pipeline.cues]
        raise_at = 0.7
        cooldown = 60
        [server]
        port = 0
        allowed_origins = ["https://desk.example.org"]
        [privacy]
        share = "cues"
        event_log = "/var/lib/edge/events"
        [[tokens]]
        role = "supervisor"
        teams = ["renal"]
        """
        + f'token = "{TOKEN}"\n',
    )
    config = load_config(path, environ={})
    assert config.pipeline.text is False
    assert config.pipeline.emotion.roles == (Role.CALLER, Role.AGENT)
    assert config.pipeline.cues.raise_at == 0.7
    assert config.pipeline.cues.cooldown == 60.0 and isinstance(
        config.pipeline.cues.cooldown, float
    )
    assert config.server == ServerOptions(port=0, allowed_origins=("https://desk.example.org",))
    assert config.privacy == PrivacyOptions(
        share=Share.CUES, event_log=Path("/var/lib/edge/events")
    )
    assert config.tokens == (TokenSpec(token=TOKEN, role=TokenRole.SUPERVISOR, teams=("renal",)),)


@pytest.mark.parametrize("language", ["auto", "en", "es", "ja", "tl", "vi", "ro", "haw"])
def test_language_is_auto_or_a_whisper_code(language):
    """[pipeline] language takes auto and Whisper's codes, from the file and the flag's variable."""
    path = write(Path.cwd(), f'[pipeline]\nlanguage = "{language}"\n')
    assert load_config(path, environ={}).pipeline.language == language
    environ = {"EDGE_PIPELINE__LANGUAGE": language}
    assert load_config(environ=environ).pipeline.language == language


def test_language_codes_are_whisper_base_codes():
    """The codes allowed are faster-whisper's, but for yue (large-v3 only): base's 99."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert tuple(c for c in _LANGUAGE_CODES if c != "yue") == WHISPER_LANGUAGES
    assert len(WHISPER_LANGUAGES) == 99


def test_edge_toml_in_the_current_folder_is_read():
    """Without --config or $EDGE_CONFIG, ./edge.toml is used when there is one."""
    write(Path.cwd(), "[server]\nport = 9001\n")
    assert load_config(environ={}).server.port == 9001


def test_edge_config_variable_names_the_file(tmp_path):
    """$EDGE_CONFIG names the file, and EDGE_CONFIG / EDGE_DATA are not settings."""
    path = write(tmp_path, "[server]\nport = 9002\n", "etc/edge.toml")
    environ = {"EDGE_CONFIG": str(path), "EDGE_DATA": "/data"}
    assert load_config(environ=environ).server.port == 9002


def test_env_overrides_win_over_the_file(tmp_path):
    """EDGE_SECTION__KEY beats the file's value; the file's other values stay."""
    path = write(tmp_path, "[server]\nport = 9000\nmax_connections = 5\n")
    environ = {"EDGE_SERVER__PORT": "9100", "EDGE_PIPELINE__CUES__RAISE_AT": "0.7"}
    config = load_config(path, environ=environ)
    assert config.server.port == 9100 and config.server.max_connections == 5
    assert config.pipeline.cues.raise_at == 0.7


def test_env_values_parse_by_the_setting_type():
    """Numbers, booleans and arrays parse as TOML; text settings keep the text; lists split."""
    config = load_config(
        environ={
            "EDGE_PIPELINE__TEXT": "false",
            "EDGE_CAPTURE__CALLER_DEVICE": "2",
            "EDGE_PIPELINE__EMOTION__ROLES": "caller, agent",
            "EDGE_SERVER__ALLOWED_ORIGINS": '["https://a.example.org"]',
            "EDGE_PRIVACY__SHARE": "cues",
            "EDGE_CAPTURE__RATE": "",
        }
    )
    assert config.pipeline.text is False
    assert config.capture.caller_device == "2"
    assert config.pipeline.emotion.roles == (Role.CALLER, Role.AGENT)
    assert config.server.allowed_origins == ("https://a.example.org",)
    assert config.privacy.share is Share.CUES
    assert config.capture.rate is None


def test_relative_paths_resolve_against_the_file_folder(tmp_path):
    """Relative paths in the file are taken from its folder, not the current one."""
    folder = tmp_path / "etc"
    write(folder, "cert", "cert.pem")
    write(folder, "key", "key.pem")
    path = write(
        folder,
        """
        [server]
        tls_cert = "cert.pem"
        tls_key = "./key.pem"
        [pipeline]
        vad_model = "models/vad.onnx"
        [pipeline.asr]
        model = "small.en"
        """,
    )
    config = load_config(path, environ={})
    assert config.server.tls_cert == folder / "cert.pem"
    assert config.server.tls_key == folder / "key.pem"
    assert config.pipeline.vad_model == str(folder / "models" / "vad.onnx")
    assert config.pipeline.asr.model == "small.en"  # a hub name, not a path


def test_round_trip_unmasked(tmp_path):
    """config_to_toml(mask_secrets=False) loads back to the same configuration."""
    config = dataclasses.replace(
        Config(),
        server=ServerOptions(host="0.0.0.0", port=9443, allowed_origins=("https://a.b",)),
        privacy=PrivacyOptions(share=Share.CUES, event_log=tmp_path / "log"),
        tokens=(
            TokenSpec(token=TOKEN, role=TokenRole.AGENT, agent="a.smith", name='Ann "A" S'),
            TokenSpec(token=TOKEN + "x", role=TokenRole.SUPERVISOR, teams=("renal", "icu")),
        ),
    )
    path = write(tmp_path, config_to_toml(config, mask_secrets=False), "out.toml")
    assert load_config(path, environ={}) == config


def test_masked_secrets_are_hidden_and_refused(tmp_path):
    """Printed secrets are "***", and a file with a masked token says to put the real one."""
    config = dataclasses.replace(
        Config(),
        tokens=(TokenSpec(token=TOKEN, role=TokenRole.INGEST, source="pbx"),),
        capture=dataclasses.replace(Config().capture, forward_token="fwd-secret-value"),
    )
    text = config_to_toml(config)
    assert TOKEN not in text and "fwd-secret-value" not in text
    assert text.count('"***"') == 2
    with pytest.raises(ConfigError, match=r"token = \"\*\*\*\": is masked"):
        load_config(write(tmp_path, text, "masked.toml"), environ={})


@pytest.mark.parametrize(
    "host,tokens,ok",
    [
        ("127.0.0.1", (), True),
        ("::1", (), True),
        ("localhost", (), True),
        ("0.0.0.0", (), False),
        ("0.0.0.0", (TokenSpec(token=TOKEN, role=TokenRole.INGEST, source="pbx"),), True),
    ],
)
def test_check_serve_needs_tokens_beyond_loopback(host, tokens, ok):
    """check_serve refuses a non-loopback host without tokens, with the fix in the message."""
    config = Config(server=ServerOptions(host=host), tokens=tokens)
    if ok:
        check_serve(config)
    else:
        with pytest.raises(ConfigError, match=r"refusing to serve on 0\.0\.0\.0 without tokens"):
            check_serve(config)


def token(role="agent", extra='agent = "a.smith"', value=TOKEN):
    return f'[[tokens]]\ntoken = "{value}"\nrole = "{role}"\n{extra}\n'


# (file text or None, environment, text the one-line message must contain)
INVALID = [
    ("[server]\nport = 70000", {}, "[server] port = 70000: must be 0 (any free port) or an"),
    ("[server]\nport = 80.5", {}, "port = 80.5: must be"),
    ('[server]\nport = "80"', {}, 'port = "80": must be'),
    ("[server]\nping_interval = nan", {}, "ping_interval = nan: must be a number above 0"),
    ("[server]\nmax_message_bytes = 10", {}, "max_message_bytes = 10: must be an integer of 1024"),
    ('[server]\nhost = ""', {}, 'host = "": must not be empty'),
    ('[server]\nallowed_origins = "https://a.b"', {}, "allowed_origins"),
    ('[server]\nallowed_origins = ["https://a.b/x"]', {}, 'item 1 ("https://a.b/x")'),
    ('[privacy]\nredact = "yes"', {}, 'redact = "yes": must be true or false'),
    ('[privacy]\nshare = "all"', {}, 'share = "all": must be one of: cues, transcripts'),
    ("[privacy]\nretention_days = 0", {}, "retention_days = 0: must be a number above 0"),
    ('[pipeline.emotion]\nroles = ["patient"]', {}, "roles"),
    ("[pipeline.cues]\nraise_at = 1.5", {}, "[pipeline.cues] raise_at = 1.5: must be a number"),
    ("[pipeline.cues]\nhigh_at = 0.5", {}, "high_at = 0.5: must be at least raise_at (0.65)"),
    ("[pipeline.cues]\nclear_at = 0.7", {}, "clear_at = 0.7: must be below raise_at (0.65)"),
    ("[pipeline.emotion]\nonset_hop = 0.75", {}, "[pipeline.emotion] onset_hop = 0.75: must be at"),
    ("[pipeline.emotion]\nhop = 0.2", {}, "[pipeline.emotion] hop = 0.2: must be at least onset"),
    ("[pipeline.vad]\nthreshold = 0.99", {}, "threshold = 0.99: must be a number from 0.05"),
    ("[pipeline.asr]\ncpu_threads = -1", {}, "cpu_threads = -1: must be 0 (all cores"),
    ("[pipeline.asr]\nfinal_beam_size = 11", {}, "final_beam_size = 11: must be an integer from 1"),
    ('[pipeline.asr]\ndevice = "tpu"', {}, 'device = "tpu": must be one of: auto, cpu, cuda'),
    ('[pipeline]\nlanguage = "english"', {}, '[pipeline] language = "english": must be auto or a'),
    ('[pipeline]\nlanguage = "yue"', {}, "Whisper language code such as en, es, ja, tl, vi, ro"),
    ('[pipeline.asr]\nlanguage = "es"', {}, "unknown key language: it belongs under [pipeline]"),
    (None, {"EDGE_PIPELINE__LANGUAGE": "EN"}, "EDGE_PIPELINE__LANGUAGE=EN: must be auto or a"),
    ('[log]\nlevel = "loud"', {}, 'level = "loud": must be one of: debug, info'),
    ("[capture]\ncaller_device = 2", {}, 'caller_device = 2: must be a string: quote it, "2"'),
    ('[capture]\nforward_url = "http://x"', {}, "forward_url"),
    ('[capture]\nstereo_device = "a"\ncaller_device = "b"', {}, "stereo_device"),
    ("[server]\nprot = 1", {}, "[server] unknown key prot: did you mean port?"),
    ("[sever]\nport = 1", {}, "unknown section [sever]: did you mean [server]?"),
    ("[pipeline.cuse]\nraise_at = 1", {}, "unknown section [pipeline.cuse]: did you mean [pip"),
    ("port = 1", {}, "port at the top level: put it under [metrics] or [server]"),
    ("pipeline = 1", {}, "pipeline = 1: must be a table"),
    ('[server]\ntls_cert = "cert.pem"', {}, "tls_cert"),
    ('[server]\ntls_cert = "none.pem"\ntls_key = "none.pem"', {}, "tls_cert"),
    (token("agent", ""), {}, 'role = "agent": a token of role agent needs agent ='),
    (token("supervisor", ""), {}, "role supervisor needs teams ="),
    (token("ingest", ""), {}, "role ingest needs source ="),
    (token("boss"), {}, 'role = "boss": must be one of: agent, supervisor, ingest'),
    ('[[tokens]]\nrole = "agent"', {}, "[[tokens]] #1: token is missing"),
    (token(value="short"), {}, 'token = "***": must be 16 characters or more'),
    (token() + token(), {}, '[[tokens]] #2 token = "***": the same token as [[tokens]] #1'),
    (token() + '[[tokens]]\nrole = "agent"\nagnet = "x"', {}, "unknown key agnet: did you mean"),
    ("[server]\nport = 1\nhost = 127.0.0.1\n", {}, "invalid TOML at line 3"),
    (None, {"EDGE_SERVER__PORT": "abc"}, "EDGE_SERVER__PORT=abc: must be 0 (any free port) or"),
    (None, {"EDGE_PRIVACY__REDACT": "1"}, "EDGE_PRIVACY__REDACT=1: must be true or false"),
    (None, {"EDGE_PIPELINE__CUES__RAISE_AT": "2"}, "EDGE_PIPELINE__CUES__RAISE_AT=2: must be"),
    (None, {"EDGE_SERVER__PROT": "1"}, "EDGE_SERVER__PROT: no such setting"),
    (None, {"EDGE_PIPELINE__CUES": "1"}, "EDGE_PIPELINE__CUES: is a section"),
    (None, {"EDGE_TOKENS__TOKEN": "x"}, "EDGE_TOKENS__TOKEN: tokens can only be set in the"),
]


@pytest.mark.parametrize("text,environ,message", INVALID)
def test_every_invalid_value_is_one_line_naming_the_key(tmp_path, text, environ, message):
    """Each bad setting raises ConfigError: one line, naming where, the key and what is allowed."""
    write(tmp_path, "cert", "cert.pem")
    if text is not None:
        write(tmp_path, text)  # the current folder's edge.toml
    with pytest.raises(ConfigError) as caught:
        load_config(environ=environ)
    error = str(caught.value)
    assert "\n" not in error
    assert message in error
    assert error.startswith("edge.toml: " if text is not None else "EDGE_")
    assert TOKEN not in error and "short" not in error


def test_missing_file_given_explicitly(tmp_path):
    """A file named by --config or $EDGE_CONFIG must exist: one line says so."""
    with pytest.raises(ConfigError, match=r"^nope\.toml: no such file; give an existing file"):
        load_config("nope.toml", environ={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(environ={"EDGE_CONFIG": str(tmp_path / "gone.toml")})


def test_empty_string_means_not_set(tmp_path):
    """An optional setting given as "" is not set (TOML has no null)."""
    path = write(tmp_path, '[capture]\nforward_url = ""\n[metrics]\nport = ""\n')
    config = load_config(path, environ={})
    assert config.capture.forward_url is None and config.metrics.port is None
