"""Clinics: clinicians, their patients (joined by invite code) and what the clinic sees of them."""
