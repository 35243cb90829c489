// Copyright (c) lhttp-qt authors. SPDX-License-Identifier: MIT
#pragma once

// An example processor for multipart messages (the original README's UploadProcessor). The
// built-in multipart filter has already split the body at the `multipart` offsets, so the
// processor only walks the parts. This one answers with what it saw, one line per part:
//
//     LHTTP/1.0 upload\r\nparts:2\r\n\r\n
//     0 29 content-type=text/json\n
//     1 5 content-type=text/plain\n

#include "processor.h"
#include "session.h"

class UploadProcessor final : public lhttp::Processor {
public:
    void onMessage(lhttp::Session &session) override {
        QByteArray summary;
        int index = 0;
        for (const lhttp::Part &part : session.parts()) {
            QByteArrayList headers;
            for (const auto &h : part.headers)
                headers.append(h.name.toByteArray() + '=' + h.value.toByteArray());
            summary += QByteArray::number(index++) + ' ' + QByteArray::number(part.body.size()) +
                       ' ' + headers.join(';') + '\n';
        }
        lhttp::Message reply("upload", summary);
        reply.addHeader("parts", QByteArray::number(session.parts().size()));
        session.reply(reply);
    }
};
