from pathlib import Path

import pytest

from dsp.band_plan import BandPlan, BandPlanError


@pytest.fixture(scope="module")
def plan() -> BandPlan:
    return BandPlan.load()


def test_uk_plan_names_its_source_and_date(plan: BandPlan) -> None:
    assert "Ofcom" in plan.source
    assert plan.retrieved.count("-") == 2


@pytest.mark.parametrize(
    ("freq_mhz", "band", "operators"),
    [
        (705.5, "B28", ("O2",)),
        (718.0, "B28", ("Three",)),
        (834.5, "B20", ("Three",)),
        (856.0, "B20", ("O2",)),
        (882.0, "B8", ("Vodafone",)),
        (887.0, "B8", ("O2",)),
        (906.0, "B8", ("O2",)),
        (1718.0, "B3", ("Vodafone",)),
        (1760.2, "B3", ("EE",)),
    ],
)
def test_uplink_frequency_maps_to_band_and_operator(
    plan: BandPlan, freq_mhz: float, band: str, operators: tuple[str, ...]
) -> None:
    f = freq_mhz * 1e6
    found = plan.uplink_band(f)
    assert found is not None and found.name == band
    assert plan.operators(f - 50e3, f + 50e3) == operators


def test_burst_straddling_two_blocks_names_both_operators(plan: BandPlan) -> None:
    assert plan.operators(884.9e6, 885.3e6) == ("Vodafone", "O2")


@pytest.mark.parametrize("freq_mhz", [806.0, 945.0, 1842.0, 864.3, 600.0])
def test_downlink_srd_and_unallocated_frequencies_are_not_uplink(plan: BandPlan, freq_mhz: float) -> None:
    assert plan.uplink_band(freq_mhz * 1e6) is None


def test_downlink_and_srd_are_recognised(plan: BandPlan) -> None:
    assert plan.downlink_band(806e6).name == "B20"
    assert "SRD" in plan.non_phone_allocation(865e6).name


def test_gsm_only_where_the_plan_lists_it(plan: BandPlan) -> None:
    assert "gsm" in plan.technologies(896.5e6, 896.7e6)
    assert "gsm" not in plan.technologies(853.5e6, 853.7e6)
    assert plan.technologies(864e6, 865e6) == frozenset()


def test_merged_operators_map_to_one_licensee(plan: BandPlan) -> None:
    assert plan.operator_licensees["Vodafone"] == plan.operator_licensees["Three"] == "VodafoneThree"


def test_block_outside_its_band_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "plan.toml"
    bad.write_text(
        '[source]\ntitle = "t"\nretrieved = "2026-01-01"\n'
        '[[band]]\nname = "B8"\nuplink_mhz = [880.0, 915.0]\ndownlink_mhz = [925.0, 960.0]\n'
        'duplex_mhz = 45.0\ntechnologies = ["gsm"]\n'
        'blocks = [{ operator = "X", uplink_mhz = [870.0, 885.0], technologies = ["gsm"] }]\n'
    )
    with pytest.raises(BandPlanError, match=r"block X .* outside band B8"):
        BandPlan.load(bad)


def test_malformed_plan_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "plan.toml"
    bad.write_text("[[band]\nname=")
    with pytest.raises(BandPlanError, match="band plan"):
        BandPlan.load(bad)
