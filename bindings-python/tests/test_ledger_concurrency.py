"""Budgets under concurrency (L7): 8 threads of one process, and 2
processes of 4 threads each, reserving against one daily budget never
exceed it and do use it up (to within one request).

Seed bug: the budget check and the spend record were separate steps, so
concurrent requests overspent. Rust versions: core/tests/ledger.rs
(`l7_eight_threads_...`) and core/tests/ledger_processes.rs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List

import pytest

import usagebook

BUDGET = 1.0
REQUEST = 0.03
FITS = 33  # 33 x 0.03 = 0.99 <= 1.0 < 34 x 0.03


@pytest.mark.parametrize("mode", ["strict_budget", "best_effort"])
def test_l7_eight_threads_never_exceed_the_budget_and_use_it_up(mode: str,
                                                                tmp_path: Path) -> None:
    ledger = usagebook.Ledger(tmp_path / "l.db", mode=mode, daily_budget_usd=BUDGET)
    start = threading.Barrier(8)
    ok: List[int] = []
    errors: List[BaseException] = []

    def work(t: int) -> None:
        n = 0
        try:
            start.wait()
            for i in range(40):
                try:
                    hold = ledger.reserve(trace_id=f"{t}-{i}", provider="openai",
                                          model="gpt-4o", estimate_usd=REQUEST)
                except usagebook.BudgetExceeded:
                    continue
                hold.commit(cost_actual_usd=REQUEST)
                n += 1
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        ok.append(n)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    spent = ledger.spend_today()
    assert spent <= BUDGET, f"{mode}: overspent {spent}"
    assert spent > BUDGET - REQUEST, f"{mode}: budget not used up: {spent}"
    assert sum(ok) == FITS
    assert ledger.reserved_today() == 0.0
    ledger.close()


CHILD = """
    import os, sys, threading
    import usagebook

    ledger = usagebook.Ledger(sys.argv[1], mode="strict_budget", daily_budget_usd=1.0)
    counts = []

    def work(t):
        n = 0
        while True:
            try:
                hold = ledger.reserve(trace_id=f"{os.getpid()}-{t}-{n}", provider="openai",
                                      model="gpt-4o", estimate_usd=0.03)
            except usagebook.BudgetExceeded:
                counts.append(n)
                return
            hold.commit(cost_actual_usd=0.03)
            n += 1

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ledger.close()
    print("reserved", sum(counts))
"""


def test_l7_two_processes_never_exceed_one_daily_budget_and_use_it_up(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    # Create the schema first so the children don't race on migration.
    usagebook.Ledger(db, mode="strict_budget").close()
    kids = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(db)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    total = 0
    for k in kids:
        out, err = k.communicate(timeout=120)
        assert k.returncode == 0, err
        total += int(out.split("reserved ")[1])
    with usagebook.Ledger(db, mode="strict_budget", daily_budget_usd=BUDGET) as ledger:
        spent = ledger.spend_today()
        assert spent <= BUDGET, f"overspent: {spent}"
        assert spent > BUDGET - REQUEST, f"budget not used up: {spent}"
        assert total == FITS
        assert spent == 0.99
        assert ledger.reserved_today() == 0.0
