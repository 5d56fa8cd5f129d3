"""Which GATT service and characteristic the BLE central subscribes to, per driver."""

from __future__ import annotations

from dataclasses import dataclass

from drivers import thermometer


@dataclass(frozen=True)
class GattProfile:
    """A Bluetooth SIG service and the measurement characteristic a driver decodes."""

    service: int
    characteristic: int
    service_name: str
    characteristic_name: str


# Heart-rate bands notify 0x2A37; thermometers indicate 0x2A1C (the central takes either).
HEART_RATE = GattProfile(0x180D, 0x2A37, "Heart Rate", "Heart Rate Measurement")
HEALTH_THERMOMETER = GattProfile(
    thermometer.HEALTH_THERMOMETER_SERVICE,
    thermometer.TEMPERATURE_MEASUREMENT,
    "Health Thermometer",
    "Temperature Measurement",
)

BY_DRIVER: dict[str, GattProfile] = {
    "hr_band": HEART_RATE,
    "thermometer": HEALTH_THERMOMETER,
}
