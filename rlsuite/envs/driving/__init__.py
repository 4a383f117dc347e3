"""Driving environments: Racetrack, Highway, GridRacetrack, and the vehicle model and tracks they share."""
