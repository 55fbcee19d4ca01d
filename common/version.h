/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one version of gaitkeeperd and gaitctl (Home Assistant's sw_version, --version). */
#pragma once

#ifndef GK_VERSION
#define GK_VERSION "0.1.0"
#endif
