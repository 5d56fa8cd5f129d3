"""The box-commands consumer: settles commands from the boxes' statuses, resends to a box back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from campusedge.contract import DeviceState, Status
from campusedge.topics import DeviceKind, cmd_topic
from gateway.fleet.commands import BoxCommands
from gateway.store.commit_log import Committed

# A command sent this long ago with no result from its box (online all along) is sent again;
# the box does each id once, so a resend only asks for the result again.
RESEND_AFTER = timedelta(seconds=60)


class BoxCommandsConsumer:
    """Reads each edge box's own status: its command results, and whether it is back."""

    name = "box_commands"
    savepoints = False  # `finish` does the step's work at once

    def __init__(self, commands: BoxCommands, publish: Callable[[str, bytes], bool]) -> None:
        self.commands = commands
        self.publish = publish
        self._statuses: list[tuple[str, Status]] = []

    def exclusive(self) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def wants(self, entry: Committed) -> bool:
        return entry.status is not None and entry.status[1].kind is DeviceKind.EDGE

    def handle(self, entry: Committed) -> None:
        if entry.status is not None:
            self._statuses.append(entry.status)

    def finish(self) -> None:
        statuses, self._statuses = self._statuses, []
        online: dict[tuple[str, str], bool] = {}
        for school, status in statuses:
            if status.commands:
                self.commands.settle(school, status.device_id, status.commands)
            online[(school, status.device_id)] = status.state is DeviceState.ONLINE
        for (school, box), is_online in online.items():
            if is_online:
                self.resend(school, box)

    def resend(self, school: str, box: str) -> int:
        """Send the box what it has not reported on (and was not sent just now)."""
        due = datetime.now(UTC) - RESEND_AFTER
        sent = 0
        for command in self.commands.unsettled(school, box):
            if command.sent_at is not None and datetime.fromisoformat(command.sent_at) > due:
                continue
            if not self.publish(cmd_topic(school, box, command.name), command.payload()):
                break  # not connected: the next status of the box tries again
            self.commands.mark_sent(command.id)
            sent += 1
        return sent
