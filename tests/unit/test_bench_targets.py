"""The benchmark's targets table, rate search plan and scale table, on made-up figures."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from rich.console import Console

from bench.phases import p99_counting_missing
from bench.ratesearch import SearchPlan, Trial, judge, next_rate
from bench.scale import scale_table, size_figures
from bench.targets import (
    NOT_MEASURED,
    Row,
    Target,
    evaluate,
    reaches_p99,
    rows_as_json,
    targets_table,
)

#: Every row the table has, in order.
KEYS = ["load_events_per_s", "load_vs_connect", "load_vs_raw_consume", "load_vs_copy",
        "cpu_ms_per_event_service", "cpu_ms_per_event_postgresql", "cpu_ms_per_event_kafka",
        "cpu_ms_per_event_total", "steady_p99_ms_at_100", "steady_p99_ms_at_500",
        "highest_rate_p99_under_250", "peak_rss_mb", "cost_growth",
        "rows_per_new_fiche", "index_entries_per_new_fiche",
        "rows_per_updated_fiche", "index_entries_per_updated_fiche"]


def steady(rate: float, p99: float, published: int = 1000, missing: int = 0) -> dict[str, Any]:
    return {"rate": rate, "seconds": 10, "published": published, "matched": published - missing,
            "missing": missing, "p50_ms": p99 / 2, "p99_ms": p99}


def a_run(**changes: Any) -> dict[str, Any]:
    """A full run's result: 6,000 events/s over 200,000 events, Connect at 10,000/s."""
    result: dict[str, Any] = {
        "initial_load": {"events": 200_000, "events_per_s": 6_000.0,
                         "cpu_s": {"service": 30.0, "postgresql": 20.0, "kafka": 10.0}},
        "kafka_connect": {"events_per_s": 10_000.0},
        "limits": {"raw_consume_per_s": 100_000.0, "copy": {"events_per_s": 8_000.0}},
        "steady_states": [steady(100, 40.0), steady(500, 120.0)],
        "rate_search": {"highest_rate": 600.0, "stopped": "", "trials": [
            {"rate": 100.0, "ok": True}, {"rate": 800.0, "ok": False},
            {"rate": 600.0, "ok": True}]},
        "memory": {"peak_rss_mb_after_load": 120.0, "peak_rss_mb": 150.0},
        "writes": {"new_fiche": {"rows_per_fiche": 6.0, "index_entries_per_fiche": 12.0},
                   "updated_fiche": {"rows_per_fiche": 4.0, "index_entries_per_fiche": 5.0}}}
    result.update(changes)
    return result


def by_key(result: dict[str, Any]) -> dict[str, Row]:
    return {row.key: row for row in evaluate(result)}


def test_every_target_has_a_row_in_the_order_of_the_issue() -> None:
    assert [row.key for row in evaluate(a_run())] == KEYS
    assert [row.key for row in evaluate({})] == KEYS


def test_a_rate_at_or_above_its_target_is_met_and_the_ratio_says_by_how_much() -> None:
    rows = by_key(a_run())
    load = rows["load_events_per_s"]
    assert load.value == 6_000
    assert load.status == "met"
    assert load.verdict() == "met"  # not the stretch of 10,000
    assert load.ratio == pytest.approx(1.2)
    rows = by_key(a_run(initial_load={"events": 10, "events_per_s": 10_000.0}))
    assert rows["load_events_per_s"].verdict() == "met, stretch met"
    rows = by_key(a_run(initial_load={"events": 10, "events_per_s": 710.0}))
    assert rows["load_events_per_s"].status == "not met"
    assert rows["load_events_per_s"].ratio == pytest.approx(0.142)


def test_the_ratio_to_kafka_connect_is_met_from_half_and_not_measured_without_connect() -> None:
    rows = by_key(a_run())
    assert rows["load_vs_connect"].value == pytest.approx(0.6)
    assert rows["load_vs_connect"].verdict() == "met"
    skipped = by_key(a_run(kafka_connect={"skipped": "not asked (--connect)"}))
    assert skipped["load_vs_connect"].status == NOT_MEASURED
    assert "not asked" in skipped["load_vs_connect"].note
    assert by_key(a_run())["load_vs_copy"].value == pytest.approx(0.75)
    assert by_key(a_run())["load_vs_copy"].status == "reported"  # a limit, not a target


def test_cpu_per_event_is_reported_per_process_and_the_total_is_held_to_its_target() -> None:
    rows = by_key(a_run())
    assert rows["cpu_ms_per_event_service"].value == pytest.approx(0.15)
    assert rows["cpu_ms_per_event_postgresql"].value == pytest.approx(0.10)
    assert rows["cpu_ms_per_event_kafka"].value == pytest.approx(0.05)
    assert rows["cpu_ms_per_event_total"].value == pytest.approx(0.30)
    assert rows["cpu_ms_per_event_total"].status == "met"
    heavy = by_key(a_run(initial_load={"events": 1000, "events_per_s": 1.0,
                                       "cpu_s": {"service": 1.0, "postgresql": 0.5,
                                                 "kafka": 0.2}}))
    assert heavy["cpu_ms_per_event_total"].status == "not met"
    assert heavy["cpu_ms_per_event_total"].ratio == pytest.approx(1.7 / 0.35)


def test_without_the_brokers_cpu_the_total_is_not_measured_rather_than_too_low() -> None:
    rows = by_key(a_run(initial_load={"events": 1000, "events_per_s": 1.0,
                                      "cpu_s": {"service": 0.1, "postgresql": 0.1}}))
    assert rows["cpu_ms_per_event_kafka"].value is None
    assert rows["cpu_ms_per_event_total"].status == NOT_MEASURED
    assert "Kafka" in rows["cpu_ms_per_event_total"].note


def test_each_latency_target_is_read_at_its_own_rate_and_is_strict() -> None:
    rows = by_key(a_run())
    assert rows["steady_p99_ms_at_100"].status == "met"  # 40 < 50
    assert rows["steady_p99_ms_at_500"].status == "not met"  # 120 >= 100
    assert rows["steady_p99_ms_at_500"].ratio == pytest.approx(1.2)
    on_the_bound = by_key(a_run(steady_states=[steady(100, 50.0)]))
    assert on_the_bound["steady_p99_ms_at_100"].status == "not met"
    assert on_the_bound["steady_p99_ms_at_500"].status == NOT_MEASURED


def test_a_run_from_before_several_rates_still_gives_its_one_rate() -> None:
    result = a_run(steady_state=steady(500, 90.0))
    del result["steady_states"]
    rows = by_key(result)
    assert rows["steady_p99_ms_at_500"].status == "met"
    assert rows["steady_p99_ms_at_100"].status == NOT_MEASURED


def test_events_that_never_came_fail_the_latency_target_whatever_the_others_say() -> None:
    rows = by_key(a_run(steady_states=[steady(100, 30.0, published=1000, missing=20)]))
    row = rows["steady_p99_ms_at_100"]
    assert row.status == "not met"
    assert "20 of 1,000" in row.as_json()["note"]
    few = by_key(a_run(steady_states=[steady(100, 30.0, published=1000, missing=5)]))
    assert few["steady_p99_ms_at_100"].status == "met"  # 5 of 1,000 are beyond the p99


def test_missing_events_reach_the_p99_exactly_when_the_percentile_counts_them() -> None:
    for published in (1, 50, 100, 101, 1000, 1234):
        for missing in range(published + 1):
            values = [0.01] * (published - missing)
            counted = p99_counting_missing(values, missing)
            assert reaches_p99(published, missing) == math.isinf(counted), (published, missing)


def test_the_highest_rate_is_reported_with_the_rates_tried_and_not_measured_when_skipped() -> None:
    rows = by_key(a_run())
    row = rows["highest_rate_p99_under_250"]
    assert row.value == 600
    assert row.status == "reported"
    assert "100/s ok, 800/s over, 600/s ok" in row.note
    skipped = by_key(a_run(rate_search={"skipped": "not asked (--no-rate-search)"}))
    assert skipped["highest_rate_p99_under_250"].status == NOT_MEASURED
    none = by_key(a_run(rate_search={"highest_rate": None, "stopped": "", "trials": [
        {"rate": 100.0, "ok": False}, {"rate": 50.0, "ok": False}]}))
    assert none["highest_rate_p99_under_250"].value == 0  # searched: no rate passed
    assert "even 50/s was over" in none["highest_rate_p99_under_250"].note


def test_peak_rss_takes_the_highest_reading_of_the_run() -> None:
    rows = by_key(a_run(memory={"peak_rss_mb": 150.0, "peak_rss_mb_after_rate_search": 320.0}))
    assert rows["peak_rss_mb"].value == 320
    assert rows["peak_rss_mb"].status == "not met"
    assert by_key(a_run())["peak_rss_mb"].status == "met"


def test_cost_growth_compares_the_largest_size_with_the_smallest() -> None:
    assert by_key(a_run())["cost_growth"].status == NOT_MEASURED
    flat = by_key(a_run(scale=[{"events": 1_000_000, "cpu_ms_per_event_total": 0.31},
                               {"events": 20_000, "cpu_ms_per_event_total": 0.30}]))
    assert flat["cost_growth"].value == pytest.approx(0.31 / 0.30)
    assert flat["cost_growth"].status == "met"
    growing = by_key(a_run(scale=[{"events": 20_000, "cpu_ms_per_event_total": 0.3},
                                  {"events": 1_000_000, "cpu_ms_per_event_total": 0.6}]))
    assert growing["cost_growth"].status == "not met"
    sizes_only = by_key({"scale": [{"events": 20_000, "cpu_ms_per_event_total": 0.3}]})
    assert sizes_only["steady_p99_ms_at_100"].note == "not part of a --sizes run"
    assert sizes_only["load_vs_copy"].note == "not part of a --sizes run"


def test_the_json_holds_a_number_or_not_measured_for_every_row() -> None:
    for result in (a_run(), {}):
        rows = rows_as_json(evaluate(result))
        assert [row["key"] for row in rows] == KEYS
        for row in rows:
            assert row["value"] == NOT_MEASURED or isinstance(row["value"], float), row
        json.dumps(rows, allow_nan=False)  # plain JSON, no NaN or Infinity


def test_the_table_shows_each_measure_value_target_verdict_and_ratio() -> None:
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(targets_table(evaluate(a_run())))
    text = out.getvalue()
    line = next(line for line in text.splitlines() if "events/s end to end" in line)
    assert "6,000/s" in line
    assert ">= 5,000/s (stretch 10,000/s)" in line
    assert "met" in line
    assert "1.20x" in line
    line = next(line for line in text.splitlines() if "at 500/s" in line)
    assert "120 ms" in line
    assert "not met" in line
    assert "1.20x" in line
    line = next(line for line in text.splitlines() if "largest size" in line)
    assert NOT_MEASURED in line


def test_the_measures_are_never_cut_in_a_table_of_the_width_the_benchmark_prints() -> None:
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(targets_table(evaluate(a_run())))
    for row in evaluate(a_run()):
        assert row.measure in out.getvalue()


def test_targets_say_their_bound_and_stretch() -> None:
    assert Target(">=", 5000, stretch=10_000).text("/s") == ">= 5,000/s (stretch 10,000/s)"
    assert Target("<=", 0.35).text(" ms") == "<= 0.35 ms"
    assert Target("<", 50).met(49.9)
    assert not Target("<", 50).met(50)
    assert Target("<=", 0.35).met(0.35)


PLAN = SearchPlan(start=100, factor=2, max_rate=1600)


def test_the_search_doubles_the_rate_until_one_fails_then_bisects_once() -> None:
    trials: list[Trial] = []
    assert next_rate(trials, PLAN) == 100
    trials += [Trial(100, True), Trial(200, True), Trial(400, True)]
    assert next_rate(trials, PLAN) == 800
    trials.append(Trial(800, False))
    assert next_rate(trials, PLAN) == 600
    trials.append(Trial(600, True))
    assert next_rate(trials, PLAN) is None


def test_the_search_bisects_below_the_first_rate_and_stops_at_its_highest() -> None:
    assert next_rate([Trial(100, False)], PLAN) == 50
    assert next_rate([Trial(100, False), Trial(50, False)], PLAN) is None
    every = [Trial(r, True) for r in (100, 200, 400, 800, 1600)]
    assert next_rate(every, PLAN) is None
    assert next_rate([Trial(100, True), Trial(200, True), Trial(400, True),
                      Trial(800, True), Trial(1600, False)], PLAN) == 1200


def test_a_phase_fails_on_its_p99_on_missing_events_or_when_the_publisher_fell_short() -> None:
    base = {"rate": 400.0, "achieved_rate": 400.0, "published": 4800, "missing": 0,
            "p99_all_ms": 120.0}
    assert judge(base, 250).ok
    assert not judge({**base, "p99_all_ms": 250.0}, 250).ok
    missing = judge({**base, "p99_all_ms": None, "missing": 300}, 250)
    assert not missing.ok
    assert "300 of 4,800" in missing.why
    slow = judge({**base, "achieved_rate": 300.0}, 250)
    assert not slow.ok
    assert "published only 300/s" in slow.why


def test_the_scale_table_gives_each_size_and_its_cost_relative_to_the_smallest() -> None:
    def size(events: int, service: float) -> dict[str, Any]:
        load = {"events": events, "seconds": events / 1000, "events_per_s": 1000.0,
                "cpu_s": {"service": service, "postgresql": events / 10_000,
                          "kafka": events / 20_000}}
        return size_figures(load, 110.0, {"rows_per_fiche": 6.0,
                                          "index_entries_per_fiche": 12.5,
                                          "wal_bytes_per_fiche": 900.0}, 1.0)

    sizes = [size(200_000, 40.0), size(20_000, 2.0)]
    assert sizes[0]["cpu_ms_per_event"]["service"] == pytest.approx(0.2)
    assert sizes[1]["cpu_ms_per_event_total"] == pytest.approx(0.1 + 0.1 + 0.05)
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(scale_table(sizes))
    lines = out.getvalue().splitlines()
    small = next(i for i, line in enumerate(lines) if "20,000" in line and "200,000" not in line)
    large = next(i for i, line in enumerate(lines) if "200,000" in line)
    assert small < large  # ordered by size
    assert "1.00x" in lines[small]
    assert "1.40x" in lines[large]  # 0.35 / 0.25
    assert "12.5" in lines[large]


def test_the_steady_rates_default_to_the_targets_and_one_rate_still_works() -> None:
    from bench.run import parse

    full = parse([])
    assert full.rates == [100, 500]
    assert full.rate == 500  # the last phase is "steady_state" in the JSON, as before
    assert (full.rate_search, full.search_seconds, full.search_budget) == (True, 12, 240)
    assert parse(["--rate", "200"]).rates == [200]
    assert parse(["--rates", "100", "500", "1000"]).rates == [100, 500, 1000]
    quick = parse(["--quick"])
    assert (quick.rates, quick.seconds, quick.search_seconds, quick.search_budget) == (
        [100, 500], 5, 3, 30)
    assert not parse(["--no-rate-search"]).rate_search
    assert parse(["--sizes", "20000", "200000"]).sizes == [20_000, 200_000]


def test_a_million_professionals_are_a_million_people_and_a_larger_load_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The NIHII person (its first eight digits) is distinct for each of the first million
    indices; a load of more would repeat people, counted as duplicates, and wait forever for
    their fiche events, so the command refuses it in one line."""
    from bench.events import PERSONS, EventFactory
    from bench.run import parse

    factory = EventFactory()
    assert len({factory.nihii(index)[:8] for index in range(PERSONS)}) == PERSONS
    assert factory.nihii(PERSONS + 7)[:8] == factory.nihii(7)[:8]
    assert parse(["--sizes", "20000", str(PERSONS)]).sizes == [20_000, PERSONS]
    for argv in (["--sizes", "20000", str(PERSONS + 1)], ["--events", str(PERSONS + 1)]):
        with pytest.raises(SystemExit):
            parse(argv)
        assert "at most 1,000,000 professionals" in capsys.readouterr().err
