"""Fetch free Foley corpora from Debian game-data packages and lay them out as a labelled folder tree.

``fetch_source("minetest", out_dir)`` downloads ``minetest-data`` with ``apt-get download`` (cached under
``cache_dir``), streams the package's file system out of ``dpkg-deb --fsys-tarfile`` (or a pure-Python reader of the
.deb's ``ar`` container when dpkg-deb is missing), keeps only the Foley sounds plus the package's copyright file,
and writes::

    out_dir/
      footsteps/wood/default_wood_footstep.1.ogg     (one folder per label: category/material)
      impacts/stone/...
      copyright                                      (the package's usr/share/doc/PKG/copyright, verbatim)
      manifest.jsonl                                 (one line per sound: file, source, package, licence, label)
      source.json                                    (package, version, counts per label)

Some packages keep their audio inside archives (0ad-data: one 3.26 GB ``public.zip``; openarena-data: ``.pk3``
zips). Those archives are written to a temporary file (zip needs random access) and only the audio members whose
path maps to a label are read with :mod:`zipfile`; the archive is never unpacked whole and is deleted afterwards.

Labels come from file names and folders (``label_minetest``, ``label_0ad``, ``label_openarena``); sounds that are
not Foley (voices, test tones) map to ``None`` and are left out. Materials use one vocabulary across corpora
(``rock``/``hard`` -> ``stone``, ``clank`` -> ``metal``, ``splash`` -> ``water``) so the sets can be mixed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.parse
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from foleyvae.errors import FoleyError
from foleyvae.utils.atomic import swap_in_dir

__all__ = [
    "SOURCES",
    "count_labels",
    "counts_table",
    "FetchError",
    "FetchReport",
    "Source",
    "default_cache_dir",
    "download_deb",
    "fetch_source",
    "label_0ad",
    "label_freedroidrpg",
    "label_megaglest",
    "label_minetest",
    "label_nexuiz",
    "label_openarena",
    "label_teeworlds",
    "label_warzone2100",
    "label_widelands",
    "parse_dep5_licences",
]

_AUDIO_EXT = (".ogg", ".oga", ".wav", ".flac", ".mp3", ".aif", ".aiff", ".wv")
# Formats the training pipeline cannot read (libsndfile has no WavPack): converted to FLAC (lossless) on fetch.
_CONVERT_EXT = (".wv",)


class FetchError(FoleyError):
    """A corpus cannot be fetched (no apt-get, no network, bad .deb); the message says what to do instead."""


# ------------------------------------------------------------------------------------------- label rules

# One material vocabulary across corpora.
_MATERIAL_ALIASES = {
    "hard": "stone",
    "rock": "stone",
    "clank": "metal",
    "splash": "water",
    "leaves": "foliage",
    "leaf": "foliage",
    "step": "generic",
}
# Searched in file names (longest first, so "gravel" wins over a shorter accidental match).
_MATERIAL_WORDS = (
    "gravel",
    "leaves",
    "metal",
    "stone",
    "grass",
    "flesh",
    "water",
    "glass",
    "wood",
    "rock",
    "dirt",
    "sand",
    "snow",
    "ice",
)


def _canon(material: str) -> str:
    m = material.lower()
    return _MATERIAL_ALIASES.get(m, m)


def _find_material(text: str) -> str | None:
    t = text.lower()
    for w in _MATERIAL_WORDS:
        if w in t:
            return _canon(w)
    return None


def _stem(path: str) -> str:
    """``a/b/default_wood_footstep.1.ogg`` -> ``default_wood_footstep`` (drops the variant number)."""
    base = path.rsplit("/", 1)[-1]
    base = re.sub(r"\.[A-Za-z0-9]+$", "", base)
    return re.sub(r"\.\d+$", "", base)


# minetest_game sound stems -> label (dig = breaking a block with a tool, dug = block removed, place = put down).
_MINETEST_STEMS: dict[str, str] = {
    "default_dig_choppy": "impacts/wood",
    "default_dig_cracky": "impacts/stone",
    "default_dig_crumbly": "impacts/dirt",
    "default_dig_snappy": "impacts/foliage",
    "default_dig_metal": "impacts/metal",
    "default_dig_dig_immediate": "impacts/generic",
    "default_dig_oddly_breakable_by_hand": "impacts/generic",
    "default_dug_metal": "impacts/metal",
    "default_dug_node": "impacts/generic",
    "default_gravel_dig": "impacts/gravel",
    "default_gravel_dug": "impacts/gravel",
    "default_ice_dig": "impacts/ice",
    "default_ice_dug": "impacts/ice",
    "default_place_node": "impacts/generic",
    "default_place_node_hard": "impacts/stone",
    "default_place_node_metal": "impacts/metal",
    "default_break_glass": "impacts/glass",
    "default_tool_breaks": "impacts/tool",
    "env_sounds_water": "water/flow",
    "default_cool_lava": "water/sizzle",
    "fire_extinguish_flame": "water/sizzle",
    "doors_door_open": "doors/wood",
    "doors_door_close": "doors/wood",
    "doors_fencegate_open": "doors/wood",
    "doors_fencegate_close": "doors/wood",
    "doors_steel_door_open": "doors/metal",
    "doors_steel_door_close": "doors/metal",
    "xpanes_steel_bar_door_open": "doors/metal",
    "xpanes_steel_bar_door_close": "doors/metal",
    "doors_glass_door_open": "doors/glass",
    "doors_glass_door_close": "doors/glass",
    "default_chest_open": "doors/chest",
    "default_chest_close": "doors/chest",
    "fire_fire": "fire/burning",
    "fire_large": "fire/burning",
    "fire_small": "fire/burning",
    "default_furnace_active": "fire/burning",
    "fire_flint_and_steel": "fire/ignite",
    "tnt_ignite": "fire/ignite",
    "tnt_gunpowder_burning": "fire/fuse",
    "default_item_smoke": "fire/smoke",
    "tnt_explode": "explosions",
    "carts_cart_moving": "mechanical/cart",
    "env_sounds_lava": "ambience/lava",
}


def label_minetest(path: str) -> str | None:
    """Label of a minetest-data file path (inside the package), or None when it is not Foley.

    ``.../default_wood_footstep.1.ogg`` -> ``footsteps/wood``; ``default_hard_footstep`` -> ``footsteps/stone``;
    ``default_dig_cracky.2.ogg`` -> ``impacts/stone``; voices and the devtest tone -> None.
    """
    p = path.replace("\\", "/").lstrip("./")
    if not p.lower().endswith(_AUDIO_EXT) or "/devtest/" in f"/{p}":
        return None
    stem = _stem(p)
    m = re.fullmatch(r"default_([a-z]+)_footstep", stem)
    if m:
        return f"footsteps/{_canon(m.group(1))}"
    return _MINETEST_STEMS.get(stem)


def label_0ad(path: str) -> str | None:
    """Label of a 0 A.D. audio path (a member of the mod's zip, e.g. ``audio/actor/singlesteps/gravel/x.ogg``).

    Footsteps take the material from the sub-folder or the file name (``singlesteps/fs_gravel1.ogg`` also ->
    ``footsteps/gravel``); arrow/shield impacts -> ``impacts/<material>``; ``resource/<activity>/...`` ->
    ``<activity>/<material>`` (or ``<activity>``); ``actor/human/movement`` -> ``movement[/<material>]``.
    """
    p = path.replace("\\", "/").lstrip("./").lower()
    if not p.endswith(_AUDIO_EXT):
        return None
    i = p.find("audio/")
    if i < 0:
        return None
    parts = p[i:].split("/")
    name = parts[-1]
    rest = "/".join(parts[1:])
    if rest.startswith("actor/singlesteps/"):
        sub = parts[3:-1]
        mat = _canon(sub[0]) if sub else _find_material(name)
        return f"footsteps/{mat or 'generic'}"
    if rest.startswith("attack/impact/"):
        mat = _find_material("/".join(parts[3:]))
        return f"impacts/{mat or 'generic'}"
    if rest.startswith("resource/") and len(parts) >= 4:
        activity = parts[2]
        mat = _find_material("/".join(parts[3:]))
        return f"{activity}/{mat}" if mat else activity
    if rest.startswith("actor/human/movement/"):
        mat = _find_material("/".join(parts[4:]))
        return f"movement/{mat}" if mat else "movement"
    return None


def label_openarena(path: str) -> str | None:
    """Label of an OpenArena sound (in a .pk3): ``sound/player/footsteps/clank3.wav`` -> ``footsteps/metal``."""
    p = path.replace("\\", "/").lstrip("./").lower()
    m = re.search(r"(?:^|/)sound/player/footsteps/([a-z]+)\d*\.(?:wav|ogg)$", p)
    if not m:
        return None
    return f"footsteps/{_canon(m.group(1))}"


def _first_rule(path: str, rules: tuple[tuple[str, str | None], ...]) -> str | None:
    """The label of the first ``(regex, label)`` rule whose regex is found in the lower-cased posix ``path``;
    None when no rule matches or the matching rule's label is None (an explicit exclusion)."""
    p = path.replace("\\", "/").lstrip("./").lower()
    if not p.endswith(_AUDIO_EXT):
        return None
    for pattern, label in rules:
        if re.search(pattern, p):
            return label
    return None


# MegaGlest (megapack commondata + tilesets): tool work, impacts, walking machines and beasts, water. Unit barks
# (ack/select/die/attack: mostly voices and fantasy weapons) and music are left out.
_MEGAGLEST_RULES: tuple[tuple[str, str | None], ...] = (
    (r"/music/|music_|/menu/", None),
    (r"/sounds/anvil\d*\.wav$", "impacts/metal"),
    (r"/sounds/arrow_hit\d*\.wav$", "impacts/wood"),
    (r"/(worker|technician)_mine\d*\.wav$", "mining/stone"),
    (r"/worker_harvest_wood\d*\.wav$", "lumbering"),
    (r"/(worker|technician|initiate)_build\d*\.wav$", "construction"),
    (r"/(tech|magic)_building_fall\d*\.wav$", "impacts/stone"),
    (r"/(catapult|machine)_walk\d*\.wav$", "mechanical/machine"),
    (r"/horseman_walk\d*\.wav$", "footsteps/hooves"),
    (r"/(golem|behemoth)_walk\d*\.wav$", "footsteps/heavy"),
    (r"/water_sounds/water\d*\.wav$", "water/splash"),
    (r"/tilesets/[^/]+/sounds/rain\d*\.(wav|ogg)$", "water/rain"),
)


def label_megaglest(path: str) -> str | None:
    """Label of a megaglest-data path: ``.../commondata/sounds/anvil2.wav`` -> ``impacts/metal``,
    ``.../units/horseman/sounds/horseman_walk1.wav`` -> ``footsteps/hooves``; voices (``*_ack``, ``*_select``,
    ``*_die``) and music -> None."""
    return _first_rule(path, _MEGAGLEST_RULES)


# Widelands (data/sound): craft and work sounds of the economy. Animals, taverns (voices), music, UI -> None.
_WIDELANDS_RULES: tuple[tuple[str, str | None], ...] = (
    (r"/data/sound/(animals|farm/(donkey|farm_animal|horse|ox|sheep)|military|.*taverns|lobby|message|click)", None),
    (r"/data/sound/woodcutting/tree_falling", "impacts/wood"),
    (r"/data/sound/woodcutting/", "lumbering"),
    (r"/data/sound/(atlanteans/saw|sawmill)/", "mechanical/saw"),
    (r"/data/sound/(atlanteans/cutting|stonecutting)/|/barbarians/stonegrind", "mining/stone"),
    (r"/data/sound/(hammering|smiths)/|/barbarians/blackwood", "impacts/tool"),
    (r"/data/sound/metal/(goldping|ironping)", "impacts/metal"),
    (r"/data/sound/metal/fizzle", "water/sizzle"),
    (r"/data/sound/metal/furnace", "fire/burning"),
    (r"/data/sound/empire/(beer|wine)bubble", "water/bubbles"),
    (r"/data/sound/other/falling_tools", "impacts/metal"),
    (r"/data/sound/(mill/|atlanteans/goldspin|barbarians/(weaver|mortar))", "mechanical/machine"),
    (r"/data/sound/farm/scythe", "foraging/foliage"),
    (r"/data/sound/fisher/", "water/splash"),
)


def label_widelands(path: str) -> str | None:
    """Label of a widelands-data path: ``data/sound/woodcutting/woodcutting.ogg`` -> ``lumbering``,
    ``data/sound/metal/ironping.ogg`` -> ``impacts/metal``; animals, tavern voices, music -> None."""
    return _first_rule(path, _WIDELANDS_RULES)


# FreedroidRPG (data/sound/effects): item handling, melee hits, a footstep, a chest, breaking glass.
_FREEDROIDRPG_RULES: tuple[tuple[str, str | None], ...] = (
    (r"/(music|voice_samples|tux_ingame_comments)/|scream", None),
    (r"/effects/glass_break\.ogg$", "impacts/glass"),
    (r"/item_sounds/drop_sword_sound\.ogg$", "handling/metal"),
    (r"/item_sounds/drop_potion_sound\.ogg$", "handling/glass"),
    (r"/item_sounds/drop_book_sound\.ogg$", "handling/paper"),
    (r"/item_sounds/item_armour_put_sound_\d+\.ogg$", "handling/metal"),
    (r"/item_sounds/item_(drop|range_weapon_put)_sound_\d+\.ogg$", "handling/generic"),
    (r"/open_chest_sound\.ogg$", "doors/chest"),
    (r"/effects/swing_then_hit_\d+\.ogg$", "impacts/flesh"),
    (r"/effects/swing_then_nohit_\d+\.ogg$", "movement/swish"),
    (r"/effects/tux_footstep\.ogg$", "footsteps/generic"),
    (r"/effects/leaveelevator_sound_\d+\.ogg$", "mechanical/elevator"),
)


def label_freedroidrpg(path: str) -> str | None:
    """Label of a freedroidrpg-data path: ``.../effects/item_sounds/drop_sword_sound.ogg`` -> ``handling/metal``,
    ``.../effects/swing_then_hit_2.ogg`` -> ``impacts/flesh``; bot voices, Tux's comments, music -> None."""
    return _first_rule(path, _FREEDROIDRPG_RULES)


# Nexuiz (sound/ in data.pk3): footsteps, landings, shell casings, ricochets, bouncing grenades, water, machines.
_NEXUIZ_RULES: tuple[tuple[str, str | None], ...] = (
    (r"^sound/(announcer|player/[^/]+/|tutorial|ctf|kh|onslaught|nexball|domination)", None),
    (r"^sound/misc/metalfootstep\d+\.wav$", "footsteps/metal"),
    (r"^sound/misc/footstep\d+\.wav$", "footsteps/generic"),
    (r"^sound/misc/metalhitground\d+\.ogg$", "impacts/metal"),
    (r"^sound/misc/hitground\d+\.ogg$", "impacts/generic"),
    (r"^sound/misc/(bodyimpact\d+|gib_splat\d+)\.wav$", "impacts/flesh"),
    (r"^sound/misc/armorimpact\.wav$", "impacts/metal"),
    (r"^sound/misc/outwater\.wav$", "water/splash"),
    (r"^sound/weapons/(brass|casings)\d+\.ogg$", "impacts/metal"),
    (r"^sound/weapons/(grenade_bounce\d+|ric\d+|tink\d+)\.ogg$", "impacts/metal"),
    (r"^sound/weapons/(campingrifle_reload|weapon_switch)\.ogg$", "mechanical/gun"),
    (r"^sound/ambient/water\.ogg$|^sound/desertfactory/pipewater_loop\.wav$", "water/flow"),
    (r"^sound/weather/rain_\d+\.ogg$", "water/rain"),
    (
        r"^sound/ambient/(machine\d+|fan\d+)\.ogg$|^sound/desertfactory/(generator|machinevat)_loop\.wav$",
        "mechanical/machine",
    ),
    (r"^sound/desertfactory/steam_(burst|fade|loop)\.(wav|ogg)$", "mechanical/steam"),
    (r"^sound/plats/medplat\d+\.ogg$", "mechanical/platform"),
)


def label_nexuiz(path: str) -> str | None:
    """Label of a Nexuiz sound (a member of ``data.pk3``): ``sound/misc/metalfootstep03.wav`` -> ``footsteps/metal``,
    ``sound/weapons/casings2.ogg`` -> ``impacts/metal``; announcer, player voices, weapon fire -> None."""
    p = path.replace("\\", "/").lower()
    i = p.find("sound/")
    return _first_rule(p[i:], _NEXUIZ_RULES) if i >= 0 else None


# Warzone 2100 (audio/ in base.wz): construction, welding, ricochets, a collapsing building, vehicles, a splash.
_WARZONE_RULES: tuple[tuple[str, str | None], ...] = (
    (r"^audio/sfx/weapons/(build\d|bldstart|bldloop|weld-\d)\.ogg$", "construction/metal"),
    (r"^audio/sfx/weapons/splash\.ogg$", "water/splash"),
    (r"^audio/sfx/explons/richet\d\.ogg$", "impacts/metal"),
    (r"^audio/sfx/explons/bldfall\.ogg$", "impacts/stone"),
    (r"^audio/sfx/vehicle/(tread|con-move|con-move-off|con-shut-down|tstart|cyber-move)\.ogg$", "mechanical/vehicle"),
    (r"^audio/sfx/building/(oilpump|steam)\.ogg$", "mechanical/machine"),
)


# Teeworlds (data/audio, WavPack): footsteps, landings, body impacts, the grappling hook's chain, skids, hammer.
_TEEWORLDS_RULES: tuple[tuple[str, str | None], ...] = (
    (r"/foley_foot_(left|right)-\d+\.wv$", "footsteps/generic"),
    (r"/foley_land-\d+\.wv$", "impacts/generic"),
    (r"/foley_body_(impact|splat)-\d+\.wv$", "impacts/flesh"),
    (r"/hook_(attach|noattach)-\d+\.wv$", "mechanical/chain"),
    (r"/sfx_skid-\d+\.wv$", "movement/skid"),
    (r"/wp_hammer_hit-\d+\.wv$", "impacts/tool"),
)


def label_teeworlds(path: str) -> str | None:
    """Label of a teeworlds-data path: ``data/audio/foley_foot_left-02.wv`` -> ``footsteps/generic``,
    ``data/audio/hook_attach-01.wv`` -> ``mechanical/chain``; voices (``vo_*``), music, weapon fire, UI -> None."""
    return _first_rule(path, _TEEWORLDS_RULES)


def label_warzone2100(path: str) -> str | None:
    """Label of a Warzone 2100 sound (a member of ``base.wz``): ``audio/sfx/weapons/weld-1.ogg`` ->
    ``construction/metal``, ``audio/sfx/explons/richet2.ogg`` -> ``impacts/metal``; voices (``audio/extra``,
    ``memressp``, ``taunts``), weapon fire and explosions -> None."""
    p = path.replace("\\", "/").lower()
    i = p.find("audio/")
    return _first_rule(p[i:], _WARZONE_RULES) if i >= 0 else None


# ------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """A Debian package that carries Foley sounds.

    ``archives``: fnmatch patterns (package paths) of zip archives to look inside; ``label`` maps a package path or
    an archive member path to a label or None. ``licence`` is the default when the copyright file does not say.
    """

    name: str
    package: str
    licence: str
    label: Callable[[str], str | None]
    archives: tuple[str, ...] = ()
    size_note: str = ""


SOURCES: dict[str, Source] = {
    "minetest": Source("minetest", "minetest-data", "CC-BY-SA-3.0", label_minetest, (), "3.6 MB"),
    "0ad": Source("0ad", "0ad-data", "CC-BY-SA-3.0", label_0ad, ("usr/share/games/0ad/*.zip",), "1.38 GB"),
    "openarena": Source(
        "openarena", "openarena-data", "GPL-2+", label_openarena, ("usr/share/games/openarena/*.pk3",), "44 MB"
    ),
    "teeworlds": Source("teeworlds", "teeworlds-data", "CC-BY-SA-3.0", label_teeworlds, (), "7.6 MB"),
    "megaglest": Source("megaglest", "megaglest-data", "CC-BY-SA-3.0", label_megaglest, (), "242 MB"),
    "widelands": Source("widelands", "widelands-data", "GPL-2+", label_widelands, (), "381 MB"),
    "freedroidrpg": Source("freedroidrpg", "freedroidrpg-data", "GPL-2+", label_freedroidrpg, (), "228 MB"),
    "nexuiz": Source("nexuiz", "nexuiz-data", "GPL-2+", label_nexuiz, ("usr/share/games/nexuiz/data/*.pk3",), "267 MB"),
    "warzone2100": Source(
        "warzone2100",
        "warzone2100-data",
        "GPL-2+",
        label_warzone2100,
        ("usr/share/games/warzone2100/*.wz",),
        "143 MB",
    ),
}


@dataclass
class FetchReport:
    """What ``fetch_source`` wrote."""

    out_dir: Path
    package: str
    version: str
    deb: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # audio files in the package that are not Foley (no label)

    @property
    def n_files(self) -> int:
        return sum(self.counts.values())


def default_cache_dir() -> Path:
    """``$FOLEYVAE_CACHE/debs``, else ``$XDG_CACHE_HOME/foleyvae/debs`` (``~/.cache/foleyvae/debs``)."""
    env = os.environ.get("FOLEYVAE_CACHE")
    if env:
        return Path(env) / "debs"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "foleyvae" / "debs"


def _hint(source: Source) -> str:
    return f"download {source.package}_*.deb by hand (e.g. from packages.debian.org) and pass --deb FILE"


def download_deb(source: Source, cache_dir: Path, force: bool = False) -> Path:
    """The package's .deb from ``cache_dir``, downloading it with ``apt-get download`` when absent (or force)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = sorted(cache_dir.glob(f"{source.package}_*.deb"))
    if cached and not force:
        return cached[-1]
    apt = shutil.which("apt-get")
    if apt is None:
        raise FetchError(f"apt-get not found; {_hint(source)}")
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=cache_dir) as tmp:
        # apt-get download writes into the current directory, which must be writable (and for root, it warns
        # that the download is unsandboxed; harmless).
        proc = _run_apt([apt, "download", source.package], tmp)
        if proc.returncode != 0 and "Unable to locate" in proc.stderr + proc.stdout:
            _run_apt([apt, "update"], tmp)
            proc = _run_apt([apt, "download", source.package], tmp)
        debs = sorted(Path(tmp).glob(f"{source.package}_*.deb"))
        if proc.returncode != 0 or not debs:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            why = msg[-1] if msg else f"exit code {proc.returncode}"
            raise FetchError(f"apt-get download {source.package} failed ({why}); {_hint(source)}")
        for old in cached:
            old.unlink(missing_ok=True)
        target = cache_dir / debs[-1].name
        os.replace(debs[-1], target)
    return target


def _run_apt(cmd: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return subprocess.CompletedProcess(cmd, 1, "", str(e))


# ------------------------------------------------------------------------------------------- .deb reading


@contextlib.contextmanager
def _deb_tar_stream(deb: Path) -> Iterator[IO[bytes]]:
    """The package's data tar as a byte stream: from ``dpkg-deb --fsys-tarfile`` or, without dpkg, the ar archive."""
    dpkg = shutil.which("dpkg-deb")
    if dpkg is not None:
        proc = subprocess.Popen([dpkg, "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            rc = proc.wait()
            if proc.stderr:
                proc.stderr.close()
        if rc != 0:
            first = err.strip().splitlines()[0] if err.strip() else f"exit code {rc}"
            raise FetchError(f"{deb}: dpkg-deb cannot read it ({first}); is it a complete .deb?")
        return
    with open(deb, "rb") as f:
        yield _ar_data_member(f, deb)


def _ar_data_member(f: IO[bytes], deb: Path) -> IO[bytes]:
    """Find ``data.tar[.xz|.gz|.bz2]`` in a .deb (an ``ar`` archive) and return a decompressed stream."""
    if f.read(8) != b"!<arch>\n":
        raise FetchError(f"{deb}: not a .deb (ar) file")
    while True:
        header = f.read(60)
        if len(header) < 60:
            raise FetchError(f"{deb}: no data.tar member; is it a complete .deb?")
        name = header[:16].decode(errors="replace").strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if name.startswith("data.tar"):
            raw: IO[bytes] = io.BufferedReader(_Window(f, size))  # type: ignore[type-var]
            if name.endswith(".xz"):
                import lzma

                return lzma.open(raw)
            if name.endswith(".gz"):
                import gzip

                return gzip.open(raw)  # type: ignore[return-value]
            if name.endswith(".bz2"):
                import bz2

                return bz2.open(raw)
            if name == "data.tar":
                return raw
            raise FetchError(f"{deb}: {name} needs dpkg-deb to unpack; install dpkg (apt-get install dpkg)")
        f.seek(size + (size & 1), io.SEEK_CUR)


class _Window(io.RawIOBase):
    """A read-only view of the next ``size`` bytes of a file."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self._f, self._left = f, size

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        data = self._f.read(n)
        b[: len(data)] = data
        self._left -= len(data)
        return len(data)


def parse_dep5_licences(text: str) -> list[tuple[list[str], str]]:
    """``[(file_patterns, licence), ...]`` from a machine-readable (DEP-5) copyright file, in file order."""
    out: list[tuple[list[str], str]] = []
    for para in re.split(r"\n\s*\n", text):
        files: list[str] = []
        lic = None
        lines = para.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Files:"):
                files = line[6:].split()
                for cont in lines[i + 1 :]:
                    if not cont.startswith((" ", "\t")):
                        break
                    files += cont.split()
            elif line.startswith("License:") and lic is None:
                lic = line[8:].strip()
        if files and lic:
            out.append((files, lic))
    return out


def _licence_for(path: str, stanzas: list[tuple[list[str], str]], default: str) -> str:
    """The last DEP-5 stanza matching ``path`` wins. Stanza patterns name source-tree paths (``mtg/mods/doors/...``)
    while ``path`` is an installed path, so a pattern also matches as a path suffix, with or without its first
    component."""
    found = default
    for patterns, lic in stanzas:
        for pat in patterns:
            cands = [pat]
            tail = pat.split("/", 1)[1] if "/" in pat else ""
            if "/" in tail:  # "mtg/mods/doors/*" -> "mods/doors/*", but never "irrlicht/*" -> "*"
                cands.append(tail)
            if any(fnmatch.fnmatch(path, c) or fnmatch.fnmatch(path, "*/" + c) for c in cands):
                found = lic
                break
    return found


# ------------------------------------------------------------------------------------------- fetch


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "sound"


def fetch_source(
    name: str,
    out_dir: str | Path,
    deb: str | Path | None = None,
    cache_dir: str | Path | None = None,
    force: bool = False,
) -> FetchReport:
    """Fetch corpus ``name`` (a key of SOURCES) into ``out_dir`` as ``label/file`` + copyright + manifest.jsonl.

    ``deb``: an already downloaded package (no apt-get needed). ``cache_dir``: where downloaded .debs are kept
    (default :func:`default_cache_dir`). The folder is written beside ``out_dir`` and renamed into place, so an
    interrupted fetch leaves no half-filled folder. Raises FetchError/FoleyError with a one-line message.
    """
    if name not in SOURCES:
        raise FoleyError(f"unknown corpus {name!r}; choose one of: {', '.join(SOURCES)}")
    source = SOURCES[name]
    out = Path(out_dir)
    if out.exists() and not force and any(out.iterdir()):
        raise FoleyError(f"{out}: already exists (use --force to replace it)")
    if deb is not None:
        deb_path = Path(deb)
        if not deb_path.is_file():
            raise FetchError(f"{deb_path}: no such .deb file")
    else:
        deb_path = download_deb(source, Path(cache_dir) if cache_dir else default_cache_dir())
    version = _deb_version(deb_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.fetch-", dir=out.parent))
    _chmod_like_mkdir(staging)
    try:
        report = _extract(source, deb_path, version, staging)
        report.out_dir = out
        if report.n_files == 0:
            raise FetchError(f"{deb_path}: no Foley sounds found in {source.package}; is it the right package?")
        swap_in_dir(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return report


def _deb_version(deb: Path) -> str:
    m = re.match(r"[^_]+_([^_]+)_", deb.name)
    return urllib.parse.unquote(m.group(1)) if m else "unknown"  # apt-get writes an epoch "2:" as "2%3a"


def _extract(source: Source, deb: Path, version: str, staging: Path) -> FetchReport:
    report = FetchReport(staging, source.package, version, deb)
    entries: list[dict[str, object]] = []
    copyright_path = f"usr/share/doc/{source.package}/copyright"
    copyright_text = ""
    taken: set[str] = set()

    def store(src_path: str, data: bytes, label: str) -> None:
        base = _safe_name(src_path.rsplit("/", 1)[-1])
        if base.lower().endswith(_CONVERT_EXT):
            data = _to_flac(data, src_path)
            base = base.rsplit(".", 1)[0] + ".flac"
        rel = f"{label}/{base}"
        n = 1
        while rel in taken:  # same file name from two folders: keep both
            n += 1
            rel = f"{label}/{n}_{base}"
        taken.add(rel)
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        entries.append(
            {
                "file": rel,
                "source": src_path,
                "package": source.package,
                "version": version,
                "label": label,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
        report.counts[label] = report.counts.get(label, 0) + 1

    try:
        with _deb_tar_stream(deb) as stream, tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                path = member.name.lstrip("./")
                if path == copyright_path:
                    f = tar.extractfile(member)
                    copyright_text = f.read().decode("utf-8", errors="replace") if f else ""
                elif any(fnmatch.fnmatch(path, pat) for pat in source.archives):
                    f = tar.extractfile(member)
                    if f is not None:
                        _scan_zip(f, path, source, store, report, staging)
                elif path.lower().endswith(_AUDIO_EXT):
                    label = source.label(path)
                    if label is None:
                        report.skipped += 1
                        continue
                    f = tar.extractfile(member)
                    if f is not None:
                        store(path, f.read(), label)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise FetchError(f"{deb}: cannot unpack ({e}); is it a complete .deb?") from None

    stanzas = parse_dep5_licences(copyright_text)
    for ent in entries:
        ent["licence"] = _licence_for(str(ent["source"]).split("!", 1)[-1], stanzas, source.licence)
    (staging / "copyright").write_text(copyright_text or f"(no copyright file found in {deb.name})\n")
    with open(staging / "manifest.jsonl", "w") as mf:
        for ent in sorted(entries, key=lambda x: str(x["file"])):
            mf.write(json.dumps(ent, sort_keys=True) + "\n")
    summary = {
        "corpus": source.name,
        "package": source.package,
        "version": version,
        "deb": deb.name,
        "default_licence": source.licence,
        "counts": dict(sorted(report.counts.items())),
        "n_files": report.n_files,
        "skipped_not_foley": report.skipped,
    }
    (staging / "source.json").write_text(json.dumps(summary, indent=2) + "\n")
    return report


def _scan_zip(
    f: IO[bytes],
    archive_path: str,
    source: Source,
    store: Callable[[str, bytes, str], None],
    report: FetchReport,
    staging: Path,
) -> None:
    """Copy the zip out of the tar stream to a temp file (zip needs seeking), then read only labelled audio."""
    with tempfile.NamedTemporaryFile(prefix=".archive-", suffix=".zip", dir=staging.parent) as tmp:
        shutil.copyfileobj(f, tmp, length=1 << 22)
        tmp.flush()
        try:
            zf = zipfile.ZipFile(tmp.name)
        except zipfile.BadZipFile:
            return  # not a zip (some .pk3 may be other data); nothing to take
        with zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.lower().endswith(_AUDIO_EXT):
                    continue
                label = source.label(info.filename)
                if label is None:
                    report.skipped += 1
                    continue
                store(f"{archive_path}!{info.filename}", zf.read(info), label)


def _to_flac(data: bytes, name: str) -> bytes:
    """``data`` (a WavPack file) as FLAC, losslessly, through ffmpeg (libsndfile, which prepare uses, cannot read
    WavPack). ffmpeg writes to a file, not a pipe: only a seekable output gets the stream length into FLAC's header
    (without it libsndfile reports a length of 2^64 frames)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise FetchError(f"{name}: WavPack needs ffmpeg to convert it to FLAC; install ffmpeg (apt-get install ffmpeg)")
    with tempfile.TemporaryDirectory(prefix=".wv2flac-") as tmp:
        out = Path(tmp) / "out.flac"
        cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "wv", "-i", "pipe:0", str(out)]
        try:
            proc = subprocess.run(cmd, input=data, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise FetchError(f"{name}: ffmpeg could not convert it ({e})") from None
        if proc.returncode != 0 or not out.is_file():
            why = proc.stderr.decode(errors="replace").strip().splitlines()
            raise FetchError(f"{name}: ffmpeg could not convert it ({why[-1] if why else proc.returncode})")
        return out.read_bytes()


def counts_table(counts: dict[str, int]) -> str:
    """``label  n`` lines, sorted by label."""
    width = max((len(k) for k in counts), default=5)
    return "\n".join(f"  {k:{width}s} {v:5d}" for k, v in sorted(counts.items()))


def count_labels(manifest: Path) -> Counter[str]:
    """Per-label counts of a fetched folder's manifest.jsonl."""
    c: Counter[str] = Counter()
    with open(manifest) as f:
        for line in f:
            if line.strip():
                c[json.loads(line)["label"]] += 1
    return c


def _chmod_like_mkdir(path: Path) -> None:
    """mkdtemp creates 0700 folders; give the final folder the permissions a plain mkdir would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o777 & ~umask)
