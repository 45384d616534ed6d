from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from foleyvae.cli.main import main
from foleyvae.data import sources
from foleyvae.data.sources import FetchError, fetch_source

MT = "usr/share/games/minetest/games/minetest_game/mods/default/sounds/"


def test_dep5_last_matching_stanza_wins() -> None:
    text = (
        "Format: x\n\nFiles: *\nLicense: LGPL-2.1+\n\nFiles: *.ogg\nLicense: CC-BY-SA-3.0\n\n"
        "Files: mtg/mods/doors/sounds/*\n other/thing\nLicense: CC-BY-3.0\n\nFiles: irrlicht/*\nLicense: zlib\n"
    )
    st = sources.parse_dep5_licences(text)
    assert st[2] == (["mtg/mods/doors/sounds/*", "other/thing"], "CC-BY-3.0")
    base = "usr/share/games/minetest/games/minetest_game/mods/"
    assert sources._licence_for(base + "doors/sounds/a.ogg", st, "?") == "CC-BY-3.0"
    assert sources._licence_for(base + "default/sounds/a.ogg", st, "?") == "CC-BY-SA-3.0"


def _fake_0ad_deb(tmp: Path) -> Path:
    """A tiny 0ad-data .deb: a zip of audio (some labelled, some not) plus the copyright file."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not available to build a test package")
    root = tmp / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: 0ad-data\nVersion: 0.0.1-1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n"
    )
    (root / "usr/share/doc/0ad-data").mkdir(parents=True)
    (root / "usr/share/doc/0ad-data/copyright").write_text("Files: *\nLicense: CC-BY-SA-3.0\n")
    (root / "usr/share/games/0ad").mkdir(parents=True)
    with zipfile.ZipFile(root / "usr/share/games/0ad/public.zip", "w") as z:
        z.writestr("audio/actor/singlesteps/gravel/a.ogg", b"A")
        z.writestr("audio/actor/singlesteps/fs_wood1.ogg", b"B")
        z.writestr("audio/attack/impact/shield_metal_01.ogg", b"C")
        z.writestr("audio/voice/x/hello.ogg", b"D")
        z.writestr("art/textures/a.png", b"E")
    deb = tmp / "0ad-data_0.0.1-1_all.deb"
    subprocess.run(["dpkg-deb", "-Zxz", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


@pytest.mark.parametrize("use_dpkg", [True, False])
def test_fetch_reads_audio_members_from_zip_inside_deb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_dpkg: bool
) -> None:
    deb = _fake_0ad_deb(tmp_path)
    if not use_dpkg:  # the pure-Python .deb reader
        real = shutil.which
        monkeypatch.setattr(sources.shutil, "which", lambda n: None if n == "dpkg-deb" else real(n))
    rep = fetch_source("0ad", tmp_path / "out", deb=deb)
    assert rep.counts == {"footsteps/gravel": 1, "footsteps/wood": 1, "impacts/metal": 1}
    assert rep.skipped == 1
    out = tmp_path / "out"
    assert (out / "footsteps/gravel/a.ogg").read_bytes() == b"A"
    assert (out / "copyright").read_text().startswith("Files: *")
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert {x["source"] for x in lines} >= {"usr/share/games/0ad/public.zip!audio/actor/singlesteps/gravel/a.ogg"}
    assert all(x["licence"] == "CC-BY-SA-3.0" and x["package"] == "0ad-data" for x in lines)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    with pytest.raises(Exception, match="already exists"):
        fetch_source("0ad", out, deb=deb)
    fetch_source("0ad", out, deb=deb, force=True)


def test_fetch_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["data", "fetch", "minetest", "-o", str(tmp_path / "o"), "--deb", str(tmp_path / "no.deb")]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    bad = tmp_path / "minetest-data_1_all.deb"
    bad.write_bytes(b"not a deb")
    with pytest.raises(FetchError, match="complete .deb|not a .deb"):
        fetch_source("minetest", tmp_path / "o", deb=bad)
    monkeypatch.setattr(sources.shutil, "which", lambda n: None)
    with pytest.raises(FetchError, match="apt-get not found.*--deb FILE"):
        fetch_source("minetest", tmp_path / "o", cache_dir=tmp_path / "empty-cache")
    assert main(["data"]) == 2


@pytest.mark.network_apt
def test_real_minetest_fetch(minetest_dir: Path) -> None:
    counts = json.loads((minetest_dir / "source.json").read_text())["counts"]
    steps = {k: v for k, v in counts.items() if k.startswith("footsteps/")}
    assert sum(steps.values()) == 32
    assert steps["footsteps/wood"] == 2 and steps["footsteps/snow"] == 5 and steps["footsteps/stone"] == 3
    assert (minetest_dir / "footsteps/wood/default_wood_footstep.1.ogg").stat().st_size > 1000
    assert (
        "Creative Commons" in (minetest_dir / "copyright").read_text()
        or "CC-BY" in (minetest_dir / "copyright").read_text()
    )
    lic = {json.loads(x)["licence"] for x in (minetest_dir / "manifest.jsonl").read_text().splitlines()}
    assert "CC-BY-SA-3.0" in lic


@pytest.mark.network_apt
def test_cli_fetch_minetest_from_cache(minetest_dir: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.data.conftest import CACHE

    out = tmp_path / "mt"
    assert main(["data", "fetch", "minetest", "-o", str(out), "--cache", str(CACHE / "debs")]) == 0
    text = capsys.readouterr().out
    assert "footsteps/wood" in text and "licence" in text
    assert main(["data", "fetch", "minetest", "-o", str(out), "--cache", str(CACHE / "debs")]) == 1


MG = "usr/share/games/megaglest/techs/megapack/"
WL = "usr/share/games/widelands/data/sound/"
FD = "usr/share/freedroidrpg/data/sound/"


def test_new_sources_are_registered_with_free_licences() -> None:
    free = {"CC-BY-SA-3.0", "GPL-2+"}
    for name in ("megaglest", "widelands", "freedroidrpg", "nexuiz", "warzone2100"):
        src = sources.SOURCES[name]
        assert src.package == f"{name}-data" and src.licence in free


@pytest.mark.network_apt
def test_real_teeworlds_fetch_converts_wavpack_to_readable_flac(tmp_path: Path) -> None:
    """teeworlds-data (7.6 MB) keeps its audio as WavPack, which libsndfile cannot read: the fetch converts to FLAC."""
    import soundfile as sf

    from tests.data.conftest import CACHE

    debs = CACHE / "debs"
    if not any(debs.glob("teeworlds-data_*.deb")) and shutil.which("apt-get") is None:
        pytest.skip("apt-get not available and no cached teeworlds-data .deb in .cache/debs")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not available to convert WavPack")
    try:
        rep = fetch_source("teeworlds", tmp_path / "tw", cache_dir=debs)
    except FetchError as e:
        pytest.skip(f"cannot fetch teeworlds-data: {e}")
    assert rep.counts["footsteps/generic"] == 8 and rep.n_files == 32
    steps = sorted((tmp_path / "tw/footsteps/generic").iterdir())
    audio, sr = sf.read(steps[0])
    assert steps[0].suffix == ".flac" and sr >= 22050 and len(audio) > sr // 20
    lines = [json.loads(x) for x in (tmp_path / "tw/manifest.jsonl").read_text().splitlines()]
    assert {x["licence"] for x in lines} == {"CC-BY-SA-3.0"} and all(x["source"].endswith(".wv") for x in lines)


def test_deb_version_undoes_apt_url_quoting() -> None:
    assert sources._deb_version(Path("widelands-data_2%3a1.1-3_all.deb")) == "2:1.1-3"
    assert sources._deb_version(Path("minetest-data_5.6.1+dfsg-2_all.deb")) == "5.6.1+dfsg-2"


LABEL_CASES = {  # labeller -> (path, label): None = not Foley (voices, music, weapons, animals) or not audio
    "minetest": [
        (MT + "default_wood_footstep.1.ogg", "footsteps/wood"),
        (MT + "default_glass_footstep.ogg", "footsteps/glass"),
        (MT + "default_hard_footstep.3.ogg", "footsteps/stone"),
        (MT + "default_dig_cracky.2.ogg", "impacts/stone"),
        (MT + "default_place_node_metal.1.ogg", "impacts/metal"),
        ("usr/share/games/minetest/games/minetest_game/mods/env_sounds/sounds/env_sounds_water.3.ogg", "water/flow"),
        ("usr/share/games/minetest/games/minetest_game/mods/doors/sounds/doors_steel_door_open.ogg", "doors/metal"),
        ("usr/share/games/minetest/games/minetest_game/mods/player_api/sounds/player_damage.ogg", None),
        ("usr/share/games/minetest/games/devtest/mods/soundstuff/sounds/default_wood_footstep.ogg", None),
        (MT + "default_wood_footstep.1.png", None),
    ],
    "0ad": [
        ("audio/actor/singlesteps/gravel/step_03.ogg", "footsteps/gravel"),
        ("audio/actor/singlesteps/rock/x.ogg", "footsteps/stone"),
        ("audio/actor/singlesteps/fs_grass5.ogg", "footsteps/grass"),
        ("audio/actor/singlesteps/fs_snow_18.ogg", "footsteps/snow"),
        ("audio/attack/impact/arrow_metal_03.ogg", "impacts/metal"),
        ("audio/attack/impact/Arrowimpwood_11.ogg", "impacts/wood"),
        ("audio/attack/impact/arrowimpstone_29.ogg", "impacts/stone"),
        ("audio/attack/impact/arrow_01.ogg", "impacts/generic"),
        ("audio/resource/construction/con_wood_04.ogg", "construction/wood"),
        ("audio/resource/construction/con_saw_02.ogg", "construction"),
        ("audio/resource/foraging/leaves_07.ogg", "foraging/foliage"),
        ("audio/actor/human/movement/walk_gravel_1.ogg", "movement/gravel"),
        ("audio/voice/hellenes/civ/m_attack_1.ogg", None),
        ("audio/actor/singlesteps/steps_gravel.xml", None),
    ],
    "openarena": [
        ("sound/player/footsteps/clank3.wav", "footsteps/metal"),
        ("sound/player/footsteps/splash1.wav", "footsteps/water"),
        ("sound/player/footsteps/boot2.wav", "footsteps/boot"),
        ("sound/weapons/rocket/rocklf1a.wav", None),
    ],
    "megaglest": [  # real paths of megaglest-data 3.13.0-3
        (MG + "commondata/sounds/anvil2.wav", "impacts/metal"),
        (MG + "commondata/sounds/worker_mine3.wav", "mining/stone"),
        (MG + "commondata/sounds/catapult_walk4.wav", "mechanical/machine"),
        (MG + "commondata/sounds/horseman_walk1.wav", "footsteps/hooves"),
        (MG + "commondata/sounds/tech_building_fall2.wav", "impacts/stone"),
        ("usr/share/games/megaglest/data/core/water_sounds/water3.wav", "water/splash"),
        ("usr/share/games/megaglest/tilesets/autumn/sounds/rain.ogg", "water/rain"),
        (MG + "commondata/sounds/archer_ack1.wav", None),  # voice
        (MG + "commondata/sounds/swordman_select3.wav", None),  # voice
        (MG + "commondata/sounds/pig_die2.wav", None),  # animal
        (MG + "factions/magic/music/music_magic.ogg", None),  # music
    ],
    "widelands": [  # real paths of widelands-data 1:1.1-3
        (WL + "woodcutting/fast_woodcutting_02.ogg", "lumbering"),
        (WL + "woodcutting/tree_falling_01.ogg", "impacts/wood"),
        (WL + "atlanteans/saw/benchsaw_01.ogg", "mechanical/saw"),
        (WL + "metal/ironping.ogg", "impacts/metal"),
        (WL + "metal/fizzle.ogg", "water/sizzle"),
        (WL + "empire/winebubble_00.ogg", "water/bubbles"),
        (WL + "hammering/hammering_02.ogg", "impacts/tool"),
        (WL + "barbarians/taverns/biginn_00.ogg", None),  # voices
        (WL + "animals/wolf_01.ogg", None),
        (WL + "farm/sheep_01.ogg", None),
        ("usr/share/games/widelands/data/music/intro.ogg", None),
    ],
    "freedroidrpg": [  # real paths of freedroidrpg-data 1.0-1
        (FD + "effects/item_sounds/drop_sword_sound.ogg", "handling/metal"),
        (FD + "effects/item_sounds/Item_Drop_Sound_3.ogg", "handling/generic"),
        (FD + "effects/swing_then_hit_2.ogg", "impacts/flesh"),
        (FD + "effects/Glass_Break.ogg", "impacts/glass"),
        (FD + "effects/open_chest_sound.ogg", "doors/chest"),
        (FD + "effects/tux_footstep.ogg", "footsteps/generic"),
        (FD + "effects/Influencer_Scream_Sound_2.ogg", None),
        (FD + "effects/bot_sounds/voice_samples/a.ogg", None),
        (FD + "music/Bleostrada.ogg", None),
    ],
    "nexuiz": [  # real members of nexuiz-data 2.5.2-12's data.pk3
        ("sound/misc/metalfootstep03.wav", "footsteps/metal"),
        ("sound/misc/footstep05.wav", "footsteps/generic"),
        ("sound/misc/hitground2.ogg", "impacts/generic"),
        ("sound/weapons/casings2.ogg", "impacts/metal"),
        ("sound/weapons/grenade_bounce4.ogg", "impacts/metal"),
        ("sound/misc/outwater.wav", "water/splash"),
        ("sound/ambient/machine3.ogg", "mechanical/machine"),
        ("sound/weapons/rocket_fire.ogg", None),  # weapon fire
        ("sound/weapons/tuba_note5.ogg", None),  # music
        ("sound/announcer/male/impressive.ogg", None),  # voice
        ("sound/player/marine/player/pain100.wav", None),  # voice
    ],
    "warzone2100": [  # real members of warzone2100-data 4.3.3-3's base.wz
        ("audio/sfx/weapons/weld-1.ogg", "construction/metal"),
        ("audio/sfx/explons/richet2.ogg", "impacts/metal"),
        ("audio/sfx/weapons/splash.ogg", "water/splash"),
        ("audio/sfx/vehicle/tread.ogg", "mechanical/vehicle"),
        ("audio/sfx/weapons/rocket.ogg", None),
        ("audio/extra/pcv612.ogg", None),  # voice
        ("audio/taunts/taunt1/a.ogg", None),  # voice
        ("audio/sfx/misc/scream.ogg", None),
    ],
    "teeworlds": [  # real paths of teeworlds-data 0.7.5-2
        ("usr/share/games/teeworlds/data/audio/foley_foot_left-02.wv", "footsteps/generic"),
        ("usr/share/games/teeworlds/data/audio/foley_body_splat-04.wv", "impacts/flesh"),
        ("usr/share/games/teeworlds/data/audio/hook_attach-01.wv", "mechanical/chain"),
        ("usr/share/games/teeworlds/data/audio/sfx_skid-03.wv", "movement/skid"),
        ("usr/share/games/teeworlds/data/audio/vo_teefault_pain_short-10.wv", None),  # voice
        ("usr/share/games/teeworlds/data/audio/music_menu.wv", None),
        ("usr/share/games/teeworlds/data/audio/wp_gun_fire-01.wv", None),
    ],
}


@pytest.mark.parametrize(
    ("labeller", "path", "label"),
    [(name, path, label) for name, rows in LABEL_CASES.items() for path, label in rows],
    ids=[f"{name}:{path.rsplit('/', 1)[-1]}" for name, rows in LABEL_CASES.items() for path, _ in rows],
)
def test_labels(labeller: str, path: str, label: str | None) -> None:
    assert getattr(sources, f"label_{labeller}")(path) == label
