// ubscope CPU twin: the AIC of a mix block serving its AIVs' Matmul calls.
//
// In a MIX kernel on Atlas A2 the Matmul runs on the AIC and the AIVs make the
// calls: after REGIST_MATMUL_OBJ the AIC runs only what its AIVs' Matmul calls
// ask of it (the REGIST_MATMUL_OBJ page's constraints), and the calls reach it
// as messages. The twin keeps that shape:
// - An AIV's call is a request. The AIV waits while the block's AIC runs it on
//   the AIC's object: the L1 / L0 buffers the AIC's REGIST_MATMUL_OBJ placed,
//   the AIC's pipes and timeline, the AIV's settings. Each step is recorded at
//   the AIV's call site, as an AIC event.
// - Time: the AIC starts a request no earlier than the AIV's scalar time at
//   the call; the AIV goes on once the AIC's pipes are done with it.
// - Both AIVs' requests queue at their one AIC and run in the order they were
//   made, except that an object holding one AIV's C block in L0C (Iterate
//   before its GetTensorC) serves only that AIV until the block is released.
// - The AIC ends when both AIVs have ended: the rest of its kernel does not run.
// - A C block an AIV takes into its UB (a VECIN C) goes L0C -> GM -> UB: the
//   AIC's Fixpipe writes it to the AIV's slot of the system workspace
//   (sys_workspace, an L2-resident GM buffer the twin adds), and the AIV's
//   MTE2 copies it into the UB tensor at the GetTensorC line.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "ubscope_twin/cores.h"
#include "ubscope_twin/runtime.h"

namespace ubscope_twin {

// An address unique to a type: the AIC checks that the object an AIV's
// request names is of the AIV's object's type.
template <class T>
const void* type_tag() {
    static const char tag = 0;
    return &tag;
}

class MatmulServer {
public:
    // A step on the AIC's object; true while it holds the AIV's C block in L0C.
    using Work = std::function<bool(void* aic_object)>;

    struct Registered {
        void* object;
        const void* type;
    };

    // On an AIV (REGIST_MATMUL_OBJ): its objects have counterparts on the AIC.
    void add_client() {
        start_block();
        ++clients_;
    }

    // On an AIV: run ``work`` on the AIC's object at REGIST_MATMUL_OBJ
    // position ``index`` and wait until the AIC is done with it.
    // ``api``: the Matmul method's name, for the messages of a failed call.
    void call(size_t index, const void* type, const Work& work, const char* api,
              const Where& where) {
        start_block();
        Runtime& rt = runtime();
        CoreGroup& group = core_group();
        Request request{index, type, rt.sub_block_idx, rt.timeline.scalar_now, &work, api, where};
        pending_.push_back(&request);
        group.note_progress();
        while (!request.done) {
            if (group.ended(AIC_CORE)) {
                fail(where, std::string("matmul::Matmul::") + api +
                                " on an AIV, but the block's AIC ended without REGIST_MATMUL_OBJ (a mix kernel's "
                                "AIC registers the same Matmul objects as its AIVs)");
            }
            group.pause(where, Wait::MATMUL_CALL);
        }
        Timeline& t = rt.timeline;
        t.scalar_now = std::max(t.scalar_now, request.done_ps);
    }

    // On the AIC (REGIST_MATMUL_OBJ in a mix launch): serve the AIVs' calls
    // until both AIVs end, then end the AIC.
    [[noreturn]] void serve(std::vector<Registered> objects, const Where& where) {
        start_block();
        objects_ = std::move(objects);
        holder_.assign(objects_.size(), -1);
        CoreGroup& group = core_group();
        int64_t served = 0;
        for (;;) {
            if (Request* request = take()) {
                run(*request);
                ++served;
                group.note_progress();
            } else if (group.others_done()) {
                break;
            } else {
                group.pause(where, Wait::MATMUL_SERVE);
            }
        }
        if (served == 0 && clients_ == 0) {
            fail(where, "REGIST_MATMUL_OBJ on the AIC of a mix kernel: from there on the AIC runs only the "
                        "Matmul calls of its AIVs, and no AIV registered a Matmul; a kernel whose AIC calls the "
                        "Matmul itself declares KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIC_ONLY) or defines "
                        "ASCENDC_CUBE_ONLY");
        }
        throw CoreEnded{};
    }

private:
    struct Request {
        size_t index;
        const void* type;
        int64_t lane;  // the AIV's sub-block index
        int64_t posted_ps;
        const Work* work;
        const char* api;
        Where where;
        bool done = false;
        int64_t done_ps = 0;
    };

    // Each block's AIC serves only its own AIVs.
    void start_block() {
        const int64_t block = core_group().block();
        if (block != block_) {
            block_ = block;
            objects_.clear();
            holder_.clear();
            pending_.clear();
            clients_ = 0;
        }
    }

    // The first request whose object is free or holds its AIV's block.
    Request* take() {
        for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            Request* request = *it;
            if (request->index >= holder_.size() || holder_[request->index] < 0 ||
                holder_[request->index] == request->lane) {
                pending_.erase(it);
                return request;
            }
        }
        return nullptr;
    }

    void run(Request& request) {
        if (request.index >= objects_.size() || objects_[request.index].type != request.type) {
            fail(request.where, std::string("matmul::Matmul::") + request.api +
                                    ": the AIC registered no Matmul of this type at position " +
                                    std::to_string(request.index + 1) +
                                    " of REGIST_MATMUL_OBJ (the AIVs and the AIC register the same objects)");
        }
        Timeline& t = runtime().timeline;
        t.scalar_now = std::max(t.scalar_now, request.posted_ps);
        const bool holds = (*request.work)(objects_[request.index].object);
        holder_[request.index] = holds ? request.lane : -1;
        t.scalar_now = std::max(t.scalar_now, timeline_end());
        request.done_ps = t.scalar_now;
        request.done = true;
    }

    int64_t block_ = -1;
    std::vector<Registered> objects_;
    std::vector<int64_t> holder_;  // per object: the AIV whose C block it holds, or -1
    std::deque<Request*> pending_;
    int64_t clients_ = 0;
};

inline MatmulServer& matmul_server() {
    static MatmulServer server;
    return server;
}

// The system workspace's GM buffer (index into runtime().gm): one slot per
// AIV of a block, each the size of L0C, which no C block outgrows. Added on
// first use after the host's buffers, L2-resident as the launch's workspace.
inline int64_t sys_workspace_buffer() {
    static int64_t index = -1;
    static std::vector<uint8_t> bytes;
    if (index < 0) {
        Runtime& rt = runtime();
        int64_t end = 0;
        for (const GmBuffer& buffer : rt.gm) {
            end = std::max(end, buffer.addr + buffer.size);
        }
        bytes.assign(static_cast<size_t>(AIVS_PER_AIC * rt.config.capacity[L0C]), 0);
        GmBuffer buffer;
        buffer.name = "sys_workspace";
        buffer.host = bytes.data();
        buffer.size = static_cast<int64_t>(bytes.size());
        const int64_t alignment = rt.config.gm_alignment;
        buffer.addr = (end + alignment) / alignment * alignment;
        buffer.name_id = rt.log.intern(buffer.name);
        buffer.workspace = true;
        rt.gm.push_back(buffer);
        index = static_cast<int64_t>(rt.gm.size()) - 1;
    }
    return index;
}

}  // namespace ubscope_twin
