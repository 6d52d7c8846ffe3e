"""On-call schedules: layers of rotations, restrictions and overrides, and who is on call when."""
