"""Water and weather: splashes, ripples and waves, pouring, rain and snow, wind, and the sounds they make.

Everything here is a pure, seeded function of time: the same event and seed give the same droplets and the
same samples, so clips stay byte-identical. Particles are world points the renderer can project and draw.
"""
