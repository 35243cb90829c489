// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

class QTableView;

namespace lhttp {

// Settings every big live table shares: fixed row heights (no per-row measuring on 10,000
// rows), no vertical header, whole-row selection.
void setUpLiveTable(QTableView *table);

} // namespace lhttp
