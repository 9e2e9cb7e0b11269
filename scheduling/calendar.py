"""The admin calendar's time grid: appointments laid out in columns (days, or therapists on one day)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling.models import Appointment

GRID_START, GRID_END = time(7), time(20)
PIXELS_PER_MINUTE = 1.2
STATUS_COLOURS = {
    Appointment.Status.BOOKED: "#2563eb",
    Appointment.Status.CONFIRMED: "#15803d",
    Appointment.Status.COMPLETED: "#525252",
    Appointment.Status.CANCELLED_BY_PATIENT: "#b91c1c",
    Appointment.Status.CANCELLED_BY_CLINIC: "#b91c1c",
    Appointment.Status.NO_SHOW: "#a16207",
}


@dataclass
class Block:
    appointment: Appointment
    local_start: datetime
    local_end: datetime
    top: int
    height: int
    lane: int = 0
    lanes: int = 1

    @property
    def left_percent(self) -> float:
        return round(100 * self.lane / self.lanes, 2)

    @property
    def width_percent(self) -> float:
        return round(100 / self.lanes, 2)

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[Appointment.Status(self.appointment.status)]


@dataclass
class Column:
    title: str
    day: date
    blocks: list[Block] = field(default_factory=list)


def place(appointment: Appointment, zone: ZoneInfo) -> Block:
    start, end = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
    minutes_in = (start.hour - GRID_START.hour) * 60 + start.minute
    length = max(15, int((end - start).total_seconds() // 60))
    return Block(
        appointment, start, end, int(minutes_in * PIXELS_PER_MINUTE), int(length * PIXELS_PER_MINUTE) - 2
    )


def share_lanes(blocks: list[Block]) -> None:
    """Sessions that overlap in time sit side by side: each run of overlapping blocks is split into lanes."""
    blocks.sort(key=lambda b: (b.local_start, b.appointment.pk))
    cluster: list[Block] = []
    lane_ends: list[datetime] = []
    for block in blocks:
        if cluster and block.local_start >= max(b.local_end for b in cluster):
            for member in cluster:
                member.lanes = len(lane_ends)
            cluster, lane_ends = [], []
        free = next((i for i, end in enumerate(lane_ends) if end <= block.local_start), None)
        if free is None:
            lane_ends.append(block.local_end)
            block.lane = len(lane_ends) - 1
        else:
            lane_ends[free] = block.local_end
            block.lane = free
        cluster.append(block)
    for member in cluster:
        member.lanes = len(lane_ends)


def hour_marks() -> list[tuple[str, int]]:
    return [
        (f"{h:02d}:00", int((h - GRID_START.hour) * 60 * PIXELS_PER_MINUTE))
        for h in range(GRID_START.hour, GRID_END.hour + 1)
    ]


def grid_height() -> int:
    return int((GRID_END.hour - GRID_START.hour) * 60 * PIXELS_PER_MINUTE)


def day_columns(days: list[date], appointments: list[Appointment], zone: ZoneInfo) -> list[Column]:
    columns = {day: Column(f"{day:%a %d %b}", day) for day in days}
    for appointment in appointments:
        block = place(appointment, zone)
        if block.local_start.date() in columns:
            columns[block.local_start.date()].blocks.append(block)
    for column in columns.values():
        share_lanes(column.blocks)
    return list(columns.values())


def therapist_columns(
    day: date, therapists: list[tuple[int, str]], appointments: list[Appointment], zone: ZoneInfo
) -> list[Column]:
    columns = {pk: Column(name, day) for pk, name in therapists}
    for appointment in appointments:
        if appointment.therapist_id in columns:
            columns[appointment.therapist_id].blocks.append(place(appointment, zone))
    for column in columns.values():
        share_lanes(column.blocks)
    return list(columns.values())


def local_day_bounds(days: list[date], zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(days[0], time(0), tzinfo=zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=zone)
    return start, end
