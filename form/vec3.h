/* SPDX-License-Identifier: GPL-2.0-or-later */
/* form internals: three-vector helpers shared by the detector and the engine. */
#pragma once

#include <math.h>

static inline double dot3(const double *a, const double *b)
{
	return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static inline void normalize3(double *a)
{
	double n = sqrt(dot3(a, a));

	if (n > 0)
		for (int i = 0; i < 3; i++)
			a[i] /= n;
}
