"""Event-mode nodes fold what each dwell heard into reports as IQ nodes do, new activity first, and a new
phone reaches the controller's locator within a second of its first burst on air (in data time: the
wall-clock figure on a loaded machine is a benchmark, docs/benchmarks.md "System")."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from cellward.latency import burst_starts, on_air_latencies, percentile
from cellward.messages import REPORT_CHANNEL_HZ, ActivityReport, DetectionBatch
from cellward.messages.wire_time import text_epoch_s
from cellward.site import Site, load_site, reference_site_path
from dsp.band_plan import BandPlan
from sensors.activity import novelty_group
from sensors.config import ReportConfig
from sensors.event_fleet import FleetReports, FleetScan
from sim.commands import load_world

SCENARIOS = Path(__file__).resolve().parents[2] / "sim" / "scenarios"
DEMO_S = 40.0  # the demo's phones all start within 30 s
TRANSPORT_S = 0.02  # sensor to controller, a loaded loopback broker
DELAY_S = 0.1  # the controller's default ingest.correlation_delay_s


def _published(
    prompt_first: bool, scenario: str = "small-evening", duration_s: float | None = None
) -> tuple[list[tuple[float, str, ActivityReport]], int]:
    """(published at, sensor, report) for the scenario run slot by slot in data time, and bursts heard."""
    world = load_world(None, SCENARIOS / f"{scenario}.yaml")
    duration_s = duration_s or world.scenario.duration_s
    sensor_ids = [s.id for s in world.site.sensors]
    plan = BandPlan.load()
    fleet = FleetReports(FleetScan(plan), sensor_ids, plan, ReportConfig(prompt_first=prompt_first))
    slots, cfg = fleet.scan.plan, fleet.scan.config
    epoch0_s = world.epoch_s(0.0)
    out = []
    heard = 0
    for slot in range(slots.slot_at(epoch0_s), slots.slot_at(epoch0_s + duration_s)):
        start_s = slots.slot_start_s(slot)
        for at_s in (start_s, start_s + cfg.settle_s + cfg.dwell_s):
            if at_s > start_s:
                heard += fleet.dwell(world, slot)
            for sensor_id, reports in fleet.close(at_s).items():
                out += [(at_s, sensor_id, r) for r in reports]
    end_s = slots.slot_start_s(slot + 1)
    for sensor_id, reports in fleet.close(end_s).items():
        out += [(end_s, sensor_id, r) for r in reports]
    return out, heard


def _novelty(report: ActivityReport) -> Hashable:
    """What must have been silent for the report's channel to be new: its ARFCN (GSM) or its network."""
    return novelty_group(BandPlan.load(), report.freq_hz, REPORT_CHANNEL_HZ, report.technology)


@pytest.fixture(scope="module")
def runs() -> dict[bool, tuple[list[tuple[float, str, ActivityReport]], int]]:
    return {prompt: _published(prompt) for prompt in (True, False)}


def test_new_activity_leaves_within_one_dwell_of_its_first_burst_and_no_burst_is_lost(runs) -> None:
    published, heard = runs[True]
    dwell_s = FleetScan(BandPlan.load()).config.dwell_s
    first: dict[tuple[str, Hashable], ActivityReport] = {}
    for _, sensor_id, report in published:
        first.setdefault((sensor_id, _novelty(report)), report)
    assert len(first) >= 10, "the scenario's phones are heard on several networks by several sensors"
    assert all(r.cut_early for r in first.values()), "the first report of every ARFCN or network is cut at its dwell"
    for at_s, _, report in published:
        if report.cut_early:
            end_s = text_epoch_s(report.window_start) + report.window_s
            assert end_s == pytest.approx(at_s, abs=1e-3), "published when its dwell ends"
            assert end_s - text_epoch_s(report.first_burst) <= dwell_s + 1e-3, "within one dwell of the first burst"
    assert sum(r.burst_count for _, _, r in published) == heard, "every burst heard is reported once"
    plain, plain_heard = runs[False]
    assert plain_heard == heard and sum(r.burst_count for _, _, r in plain) == heard


def test_only_arfcns_or_networks_silent_for_quiet_s_are_cut_so_steady_activity_adds_no_messages(runs) -> None:
    published, _ = runs[True]
    quiet_s, dwell_s = ReportConfig().prompt_quiet_s, FleetScan(BandPlan.load()).config.dwell_s
    by_group: dict[tuple[str, Hashable], list[ActivityReport]] = defaultdict(list)
    for _, sensor_id, report in published:
        by_group[(sensor_id, _novelty(report))].append(report)
    cuts = 0
    for reports in by_group.values():
        for cut in (r for r in reports if r.cut_early):
            cuts += 1
            dwell_start_s = text_epoch_s(cut.window_start) + cut.window_s - dwell_s - 1e-3
            before = [
                text_epoch_s(r.last_burst if text_epoch_s(r.last_burst) < dwell_start_s else r.first_burst)
                for r in reports
                if text_epoch_s(r.first_burst) < dwell_start_s
            ]
            silent_s = text_epoch_s(cut.first_burst) - max(before, default=-1e12)
            assert silent_s > quiet_s, "its ARFCN or network was heard lately"
    assert cuts >= 10
    batches = {prompt: len({(at, s) for at, s, _ in runs[prompt][0]}) for prompt in (True, False)}
    print(f"\nbatches published in 60 s, 5 nodes: {batches[True]} with prompt_first, {batches[False]} without")
    assert batches[True] <= 1.5 * batches[False]


def _first_sightings(published: list[tuple[float, str, ActivityReport]], site: Site) -> list[float]:
    """Seconds from each phone's first burst on air (cellward.latency) to its first sighting, the reports
    arriving at the controller TRANSPORT_S after they were published and `ready` running every 10 ms
    (data time); a phone is a technology and its operators (sightings of channels outside every operator's
    block are left out)."""
    from controller.locating import SiteLocating

    locating = SiteLocating(site, delay_s=DELAY_S)
    arrivals: dict[float, dict[str, list[ActivityReport]]] = defaultdict(lambda: defaultdict(list))
    for at_s, sensor_id, report in published:
        arrivals[round(at_s + TRANSPORT_S, 2)][sensor_id].append(report)
    as_wire = TypeAdapter(list[ActivityReport]).dump_python
    wire = [json.dumps({"reports": as_wire(batch, mode="json")}) for batch in _batches(published)]
    heard = burst_starts(wire)
    latencies: dict[tuple, float] = {}
    start_s, end_s = min(arrivals), max(arrivals) + 1.0
    for tick in range(round(start_s * 100), round(end_s * 100)):
        now_s = tick / 100
        for sensor_id, reports in arrivals.get(now_s, {}).items():
            locating.add_reports(sensor_id, DetectionBatch.model_construct(reports=reports), now_s)
        for sighting in locating.ready(now_s):
            key = (sighting.technology, sighting.band, sighting.operators)
            if sighting.operators and key not in latencies:
                (latencies[key],) = on_air_latencies([(now_s, sighting.start_s, sighting.freq_hz, key[0])], heard)
    return sorted(latencies.values())


def _batches(published: list[tuple[float, str, ActivityReport]]) -> list[list[ActivityReport]]:
    batches: dict[tuple[float, str], list[ActivityReport]] = defaultdict(list)
    for at_s, sensor_id, report in published:
        batches[(at_s, sensor_id)].append(report)
    return list(batches.values())


@pytest.mark.slow
def test_a_new_phone_is_located_within_a_second_of_its_first_burst_on_air_in_data_time() -> None:
    """The demo's first 40 s on the reference site, 76 event-mode nodes, with and without prompt_first."""
    site = load_site(reference_site_path())
    prompt, plain = (_first_sightings(_published(p, "demo", DEMO_S)[0], site) for p in (True, False))
    print(
        f"\nfirst burst on air -> first sighting (data time), {len(prompt)} phones: prompt_first "
        f"p50 {percentile(prompt, 50):.2f} s, p95 {percentile(prompt, 95):.2f} s; without "
        f"p50 {percentile(plain, 50):.2f} s, p95 {percentile(plain, 95):.2f} s"
    )
    assert len(prompt) == len(plain) >= 5, "the demo's phones: GSM, LTE and NR of several networks"
    assert percentile(prompt, 95) <= 1.0
    assert percentile(prompt, 50) < percentile(plain, 50)


def test_event_mode_nodes_follow_their_provisioned_scan_groups(tmp_path: Path) -> None:
    """`cellward provision --scan-groups 2` writes each node's group from the site model; the fleet reads it
    and each group dwells on its own tuning, hearing only what its own tuning holds."""
    from cellward.provision import provision
    from cellward.site import small_site_path
    from cellward.site.scan_groups import sensor_groups
    from controller.config import load_controller_config
    from sensors.config import load_sensor_config
    from sensors.event_fleet import provisioned_scan
    from sensors.scan_plan import ScanConfig

    site = load_site(small_site_path())
    prov = provision(small_site_path(), "small", tmp_path, scan_groups=2)
    sensor_ids = [s.id for s in site.sensors]
    config, groups = provisioned_scan(prov.out, sensor_ids)
    assert config == ScanConfig(groups=2) and groups == sensor_groups(site, 2)
    assert load_sensor_config(prov.sensor_configs["HUB1"]).scan.group == groups["HUB1"]
    assert load_controller_config(prov.controller_config).scan.groups == 2
    world = load_world(None, SCENARIOS / "small-evening.yaml")
    scan = FleetScan(BandPlan.load(), config=config, groups=groups)
    epoch0_s = world.epoch_s(0.0)
    heard_somewhere = 0
    for slot in range(scan.plan.slot_at(epoch0_s), scan.plan.slot_at(epoch0_s + 60.0)):
        dwells = scan.heard_in_slot(world, slot, sensor_ids)
        if len(dwells) == 1:  # a revisit slot: both groups on the tuning a phone was heard on
            assert sorted(dwells[0][1]) == sorted(sensor_ids)
            continue
        assert len(dwells) == 2 and dwells[0][0].centre_hz != dwells[1][0].centre_hz
        assert sorted(sensor_id for _, members, _ in dwells for sensor_id in members) == sorted(sensor_ids)
        for dwell, members, heard in dwells:
            assert {groups[s] for s in members} == {groups[members[0]]}, "one group per tuning"
            assert all(o.sensor_id in members and dwell.low_hz <= o.freq_hz < dwell.high_hz for o in heard)
            heard_somewhere += len(heard)
    assert heard_somewhere > 0
    (tmp_path / "sensors" / "HUB1.yaml").write_text("scan: {groups: 3}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="differ beyond their group"):
        provisioned_scan(prov.out, sensor_ids)
