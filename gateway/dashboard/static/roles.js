// The roles' names as people read them, and the roles campus IT may give.

import { N_ } from "./i18n.js";

export const ROLE_NAMES = {
  campus_it: N_("role.campus_it"),
  pe_teacher: N_("role.pe_teacher"),
  health_staff: N_("role.health_staff"),
  auditor: N_("role.auditor"),
  district: N_("role.district"),
};

// As the gateway's rule (gateway/user_rules.py): never the auditor, whose log watches campus IT.
export const GRANTABLE = ["pe_teacher", "health_staff", "campus_it"];
