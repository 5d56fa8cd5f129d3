// The device kinds of the wire contract (campusedge.topics.DeviceKind) as people name them.

import { N_ } from "./i18n.js";

export const KIND_NAMES = {
  hr_band: N_("device.kind.hr_band"),
  jump_rope: N_("device.kind.jump_rope"),
  temp_gate: N_("device.kind.temp_gate"),
  vision_screener: N_("device.kind.vision_screener"),
  pe_station: N_("device.kind.pe_station"),
  thermometer: N_("device.kind.thermometer"),
  env_sensor: N_("device.kind.env_sensor"),
  edge: N_("device.kind.edge"),
};
