"""Tests of the health records: screenings and referrals, absences."""
