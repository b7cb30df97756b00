"""Koble til PowerOffice: onboarding every subgroup of an agency in one go, without copying keys."""
