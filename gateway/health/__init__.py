"""The health records: vision screenings and their referrals, absences entered by health staff."""
