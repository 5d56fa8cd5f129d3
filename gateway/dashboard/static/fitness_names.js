// Fitness test items, units and levels by the names the 2014 standard prints (in Chinese).

import { N_ } from "./i18n.js";

export const ITEM_NAMES = {
  height_cm: N_("item.height_cm"),
  weight_kg: N_("item.weight_kg"),
  bmi: N_("item.bmi"),
  vital_capacity: N_("item.vital_capacity"),
  run_50m: N_("item.run_50m"),
  sit_and_reach: N_("item.sit_and_reach"),
  rope_skip_1min: N_("item.rope_skip_1min"),
  sit_up_1min: N_("item.sit_up_1min"),
  shuttle_50x8: N_("item.shuttle_50x8"),
  standing_long_jump: N_("item.standing_long_jump"),
  pull_up: N_("item.pull_up"),
  run_1000m: N_("item.run_1000m"),
  run_800m: N_("item.run_800m"),
};
export const UNIT_NAMES = {
  cm: N_("unit.cm"),
  kg: N_("unit.kg"),
  count: N_("unit.count"),
  "count/min": N_("unit.count_per_min"),
  "kg/m2": N_("unit.kg_m2"),
  mL: N_("unit.ml"),
  s: N_("unit.s"),
};
export const LEVEL_NAMES = {
  excellent: N_("level.excellent"),
  good: N_("level.good"),
  pass: N_("level.pass"),
  fail: N_("level.fail"),
};
// What a teacher types each item in (the API's units); BMI comes from height and weight.
export const ENTRY_UNITS = {
  height_cm: "cm",
  weight_kg: "kg",
  vital_capacity: "mL",
  run_50m: "s",
  sit_and_reach: "cm",
  rope_skip_1min: "count",
  sit_up_1min: "count",
  shuttle_50x8: "s",
  standing_long_jump: "cm",
  pull_up: "count",
  run_1000m: "s",
  run_800m: "s",
};
