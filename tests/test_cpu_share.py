"""cnnviz.cpu_share: how many threads an "auto" training worker takes, from what the rest of the machine keeps busy."""
import time

import pytest

from cnnviz.cpu_share import (IdleCores, machine_busy_seconds, most_threads, spare_threads, thread_pool_size,
                              threads_setting, usable_cores)


@pytest.mark.parametrize("cores, others, most, expected", [
    (2, 0.0, 4, 2),    # an idle two-core machine: both cores
    (2, 0.4, 4, 2),    # a core less than half busy counts as idle
    (2, 0.6, 4, 1),    # more than half a core taken: one thread
    (2, 1.7, 4, 1),    # a busy machine: never fewer than one
    (2, 5.0, 4, 1),    # more demand than cores
    (16, 0.0, 4, 4),   # a big idle machine: at most `most`
    (16, 13.2, 4, 3),
])
def test_spare_threads_are_the_idle_cores_within_one_and_most(cores, others, most, expected):
    assert spare_threads(cores, others, most) == expected


def test_busy_seconds_are_read_from_the_aggregate_cpu_line(tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice, in ticks (os.sysconf("SC_CLK_TCK") a second)
    stat.write_text("cpu  100 20 30 500 50 5 5 0 7 0\ncpu0 50 10 15 250 25 2 3 0 0 0\n")
    from cnnviz import cpu_share
    assert machine_busy_seconds(str(stat)) == pytest.approx((100 + 20 + 30 + 5 + 5) / cpu_share._TICKS)
    stat.write_text("intr 1 2 3\n")
    assert machine_busy_seconds(str(stat)) is None
    assert machine_busy_seconds(str(tmp_path / "missing")) is None


class _Fake:
    """Counters the test moves by hand: the machine's busy CPU seconds, this process's, the wall clock."""
    def __init__(self):
        self.busy, self.own, self.now = 100.0, 10.0, 1000.0

    def advance(self, wall, busy, own):
        self.now, self.busy, self.own = self.now + wall, self.busy + busy, self.own + own

    def idle(self, cores=2, most=4):
        return IdleCores(most, cores=cores, busy=lambda: self.busy, own=lambda: self.own, clock=lambda: self.now)


def test_idle_cores_count_what_others_used_since_the_last_ask():
    fake = _Fake()
    idle = fake.idle()
    fake.advance(1.0, 2.0, 1.9) # we used both cores, others 0.1 of one
    assert idle.threads() == 2
    fake.advance(1.0, 2.0, 1.1) # others took 0.9 of a core
    assert idle.threads() == 1
    fake.advance(0.5, 0.6, 0.5) # others 0.2 cores: back to two
    assert idle.threads() == 2


def test_idle_cores_say_one_when_the_window_is_too_short_or_unreadable():
    fake = _Fake()
    idle = fake.idle()
    fake.now += 0.01
    assert idle.threads() == 1
    blind = IdleCores(4, cores=2, busy=lambda: None)
    time.sleep(0.15)
    assert blind.threads() == 1


def test_the_machines_busy_time_includes_our_own_cpu_time():
    """On Linux (where the app is served) /proc/stat is read, and the machine's busy seconds grow at least by
    the CPU time this process spends (less a tick or two of rounding)."""
    busy0, own0 = machine_busy_seconds(), time.process_time()
    assert busy0 is not None
    while time.process_time() - own0 < 0.3:
        pass
    busy1, own1 = machine_busy_seconds(), time.process_time()
    assert busy1 - busy0 >= (own1 - own0) - 0.05


def test_an_auto_pool_is_the_most_threads_and_a_number_is_itself():
    assert thread_pool_size("auto") == most_threads() >= 1
    assert thread_pool_size(3) == 3


def test_a_threads_setting_is_auto_or_a_whole_number():
    assert threads_setting("auto") == threads_setting(" AUTO ") == "auto"
    assert threads_setting("2") == 2 and threads_setting(3) == 3
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(ValueError, match="threads"):
            threads_setting(bad)


def test_a_containers_cpu_quota_caps_the_usable_cores(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    unlimited = usable_cores(str(tmp_path / "missing"))
    assert unlimited >= 1
    cpu_max.write_text("max 100000\n")
    assert usable_cores(str(cpu_max)) == unlimited
    cpu_max.write_text("150000 100000\n")          # 1.5 cores of quota: 2 may run, at most
    assert usable_cores(str(cpu_max)) == min(unlimited, 2)
    cpu_max.write_text("50000 100000\n")           # half a core: still one
    assert usable_cores(str(cpu_max)) == 1
