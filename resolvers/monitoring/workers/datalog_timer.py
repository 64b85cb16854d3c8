"""The upload timer: a configuration upload the router has not acknowledged within datalog_ack_timeout_seconds goes
from PENDING to TIMED_OUT. Safe with several processes: each row moves with a conditional UPDATE (still PENDING,
same request ID), so a late acknowledgement and the timer cannot both win."""

from __future__ import annotations

import logging
from typing import Any

from graph.workers import PeriodicTask, transaction
from resolvers.monitoring.datalog.upload import time_out_uploads

log = logging.getLogger("fleetgraph.monitoring.datalog")


class UploadTimer(PeriodicTask):
    name = "datalog upload timer"
    log = log

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)

    def interval(self) -> float:
        return self.runtime.settings.datalog_timer_seconds

    async def run_round(self) -> None:
        async with transaction(self.runtime) as session:
            await time_out_uploads(session, self.runtime.settings.datalog_ack_timeout_seconds)
