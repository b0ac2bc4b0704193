"""The console application: cli/, model/, sources/, rows/, screens/ (each __init__ says what it may touch)."""
