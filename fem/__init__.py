"""Materials, units, kinematics, forms per physics, solvers, time stepping and I/O."""
