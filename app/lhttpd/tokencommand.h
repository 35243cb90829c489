// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

// `lhttpd-qt token --sub alice --channels 'room.*'`: mints a connect token (HS256 JWT) for
// testing, with the secret from --secret or the config file's jwt-secret. Prints the token.
int runTokenCommand(const QStringList &arguments);
