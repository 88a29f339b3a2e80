"""fraiseql_native.parity: proving on your own traffic that a backend
answers as another does (spec/parity.md).

- Shadow(primary, candidate, sample_rate=...): live traffic served by the
  primary; a sampled share also run on the candidate off the caller's path,
  compared, and published (LogPublisher, CounterPublisher,
  JsonLinesPublisher, or any callable). Shadow(repo, repo, sample_rate=1)
  is the A/A calibration of live traffic.
- Recorder(repo, path, redact=[...]): writes each call as one JSON line
  (the traffic file).
- replay(traffic, primary_repo, candidate_repo, ...) -> Report: the file
  through both backends, by query shape; calibrate(repo, traffic) the A/A
  run of a file. The command line: python3 -m fraiseql_native.parity replay.
"""
from .outcome import Options, evaluate, known_differences, normalize_rules
from .publishers import CounterPublisher, JsonLinesPublisher, LogPublisher
from .recorder import Recorder
from .replay import Progress, calibrate, read_traffic, replay
from .report import Report, ShapeStats, percentile
from .shadow import Shadow
from .shape import shape

__all__ = [
    "CounterPublisher", "JsonLinesPublisher", "LogPublisher", "Options",
    "Progress", "Recorder", "Report", "Shadow", "ShapeStats", "calibrate",
    "evaluate", "known_differences", "normalize_rules", "percentile",
    "read_traffic", "replay", "shape",
]
