// Direct Verilator harness for a hadamhw core: drives a whole vector file through the
// AXI4-Stream ports (random input gaps and output back-pressure when asked), checks every
// output beat against the golden values and writes a small result file. No per-cycle
// scripting: this is the bulk bit-exactness check (hadamhw.verify.verilator_batch).
//
// VECTORS: a vector file (hadamhw.ir.stimulus), as text or in its binary form (the same
// integers, little-endian int64, after the line "hadamhw-vectors-bin 1").
//
// usage: hadamhw_batch VECTORS RESULTS SEED GAPS MAX_CYCLES IN_WORD_BITS OUT_WORD_BITS STREAMS
//                      [BEATS]
//
// STREAMS interleaved sequences (a core built with HADAMHW_TID has s_axis_tid/m_axis_tid):
// sequence i runs on stream i % STREAMS, each stream's sequences in file order. With GAPS the
// next input beat comes from a random stream (now and then the same one again, back to
// back), after random idle cycles, and m_axis_tready drops at random; without, the streams
// take turns (round robin) and every beat is offered and accepted at once. Each stream has
// its own scoreboard: a beat is checked against the next expected readout of the stream its
// m_axis_tid names.
//
// RESULTS lines:
//   M <sequence> <step> <index> <expected> <got>   a mismatch; index -1 argmax, -2 tlast,
//                                                  -3 protocol, -4 m_axis_tid
//                                                  (the first kMaxReported only)
//   S <cycles> <beats_checked> <mismatches> <extra_beats> <protocol_errors> <in_stalls>
//     <seconds> <cpu_seconds>                      summary; <mismatches> is the true total,
//                                                  <in_stalls> the cycles a beat was offered
//                                                  and not taken, <seconds> the simulation's
//                                                  own time (reading the vectors excluded),
//                                                  <cpu_seconds> the processor time it took
//
// Cycle mode (hadamhw.verify.replay, a counterexample of `hadamhw prove` replayed):
//   hadamhw_batch --cycles CYCLES RESULTS IN_WORD_BITS OUT_WORD_BITS OUT_WORDS
// CYCLES (text): "hadamhw-cycles 1", "<cycles> <input_words>", then one line per cycle:
//   <rst> <s_axis_tvalid> <s_axis_tlast> <m_axis_tready> <s_axis_tid> <word 0> ...
// Each cycle the inputs are set, the outputs read once they settle (before the rising edge,
// as the solver's step sees them) and written to RESULTS as
//   C <cycle> <s_axis_tready> <m_axis_tvalid> <m_axis_tlast> <m_axis_tuser> <m_axis_tid>
//     <word 0> ... <word OUT_WORDS-1>
// then the clock rises. Nothing is compared here: the caller compares with the spec.
//
// With BEATS (hadamhw.verify.predict), every output beat is written there as
//   B <sequence> <step> <word 0> ... <word d-1> <argmax> <tlast>
// and the values are not compared (the vector file's expected values are placeholders); the
// beat count, tlast, m_axis_tid and the hold-stable rule are still checked.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "Vdut.h"
#include "verilated.h"

namespace {

constexpr std::size_t kMaxReported = 1000;

// -- port access for any Verilator port type (CData..QData, or VlWide for > 64 bits) -----------
inline uint64_t low_mask(int width) { return width >= 64 ? ~0ULL : ((1ULL << width) - 1); }

template <typename T>
typename std::enable_if<std::is_integral<T>::value>::type put_bits(T& port, int lsb, int width,
                                                                   uint64_t value) {
    const uint64_t mask = low_mask(width);
    uint64_t v = static_cast<uint64_t>(port);
    v = (v & ~(mask << lsb)) | ((value & mask) << lsb);
    port = static_cast<T>(v);
}

template <std::size_t Words>
void put_bits(VlWide<Words>& port, int lsb, int width, uint64_t value) {
    for (int done = 0; done < width;) {
        const int b = lsb + done;
        const int off = b % 32;
        const int take = std::min(32 - off, width - done);
        const uint32_t mask = static_cast<uint32_t>(low_mask(take)) << off;
        const uint32_t bits = static_cast<uint32_t>((value >> done) & low_mask(take)) << off;
        EData& word = port[b / 32];
        word = (word & ~mask) | bits;
        done += take;
    }
}

template <typename T>
typename std::enable_if<std::is_integral<T>::value, uint64_t>::type get_bits(const T& port,
                                                                             int lsb, int width) {
    return (static_cast<uint64_t>(port) >> lsb) & low_mask(width);
}

template <std::size_t Words>
uint64_t get_bits(const VlWide<Words>& port, int lsb, int width) {
    uint64_t v = 0;
    for (int done = 0; done < width;) {
        const int b = lsb + done;
        const int off = b % 32;
        const int take = std::min(32 - off, width - done);
        v |= ((static_cast<uint64_t>(port[b / 32]) >> off) & low_mask(take)) << done;
        done += take;
    }
    return v;
}

template <typename T>
typename std::enable_if<std::is_integral<T>::value, bool>::type same_bits(const T& a,
                                                                          const T& b) {
    return a == b;
}

template <std::size_t Words>
bool same_bits(const VlWide<Words>& a, const VlWide<Words>& b) {
    for (std::size_t i = 0; i < Words; ++i) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

int64_t sign_extend(uint64_t v, int width) {
    if (width < 64 && ((v >> (width - 1)) & 1U)) v |= ~((1ULL << width) - 1);
    return static_cast<int64_t>(v);
}

// -- deterministic random numbers (splitmix64) ----------------------------------------------
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return next() % n; }
};

// A valid/ready pattern: mostly on, with short gaps and now and then a long stall (up to
// 16 cycles, one in four up to 64: longer than any output FIFO of a pipelined core).
struct Pattern {
    bool enabled;
    int stall_left = 0;
    bool step(Rng& rng) {
        if (!enabled) return true;
        if (stall_left > 0) {
            --stall_left;
            return false;
        }
        if (rng.below(64) == 0) {
            stall_left = 1 + static_cast<int>(rng.below(rng.below(4) == 0 ? 64 : 16));
            return false;
        }
        return rng.below(4) != 0;
    }
};

struct Sequence {
    std::vector<int64_t> inputs;  // steps * input_words
    std::vector<int64_t> expect;  // readouts * (output_words + 1): words then argmax
    std::size_t steps = 0;
    std::size_t readouts = 0;
};

// One stream: its sequences in order, an input cursor and an output cursor (scoreboard).
struct Stream {
    std::vector<std::size_t> seqs;
    std::size_t in_seq = 0, in_step = 0;
    std::size_t out_seq = 0, out_read = 0;
    bool has_input() const { return in_seq < seqs.size(); }
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "hadamhw_batch: %s\n", msg.c_str());
    std::exit(2);
}

// -- cycle mode: the inputs of every cycle from a file, the outputs of every cycle out -------
int replay_cycles(int argc, char** argv) {
    if (argc != 7) {
        die("usage: hadamhw_batch --cycles CYCLES RESULTS IN_WORD_BITS OUT_WORD_BITS "
            "OUT_WORDS");
    }
    std::ifstream in(argv[2]);
    if (!in) die(std::string("cannot open ") + argv[2]);
    const int in_word_bits = std::atoi(argv[4]);
    const int out_word_bits = std::atoi(argv[5]);
    const long out_words = std::atol(argv[6]);
    std::string magic, version;
    long cycles = -1, in_words = -1;
    in >> magic >> version >> cycles >> in_words;
    if (!in || magic != "hadamhw-cycles" || version != "1" || cycles < 0 || in_words < 1) {
        die(std::string(argv[2]) + ": not a hadamhw cycle file");
    }
    std::FILE* res = std::fopen(argv[3], "w");
    if (!res) die(std::string("cannot write ") + argv[3]);
    auto ctx = std::make_unique<VerilatedContext>();
    auto dut = std::make_unique<Vdut>(ctx.get());
    dut->clk = 0;
    dut->eval();
    for (long c = 0; c < cycles; ++c) {
        long long rst, valid, last, ready, tid;
        in >> rst >> valid >> last >> ready >> tid;
        dut->rst = rst ? 1 : 0;
        dut->s_axis_tvalid = valid ? 1 : 0;
        dut->s_axis_tlast = last ? 1 : 0;
        dut->m_axis_tready = ready ? 1 : 0;
#ifdef HADAMHW_TID
        dut->s_axis_tid = static_cast<uint32_t>(tid);
#else
        (void)tid;
#endif
        for (long w = 0; w < in_words; ++w) {
            long long word;
            in >> word;
            put_bits(dut->s_axis_tdata, static_cast<int>(w) * in_word_bits, in_word_bits,
                     static_cast<uint64_t>(word));
        }
        if (!in) die(std::string(argv[2]) + ": truncated at cycle " + std::to_string(c));
        dut->eval();
#ifdef HADAMHW_TID
        const long out_tid = static_cast<long>(dut->m_axis_tid);
#else
        const long out_tid = 0;
#endif
        std::fprintf(res, "C %ld %d %d %d %llu %ld", c, static_cast<int>(dut->s_axis_tready),
                     static_cast<int>(dut->m_axis_tvalid), static_cast<int>(dut->m_axis_tlast),
                     static_cast<unsigned long long>(get_bits(dut->m_axis_tuser, 0, 32)),
                     out_tid);
        for (long w = 0; w < out_words; ++w) {
            const int64_t got = sign_extend(
                get_bits(dut->m_axis_tdata, static_cast<int>(w) * out_word_bits, out_word_bits),
                out_word_bits);
            std::fprintf(res, " %lld", static_cast<long long>(got));
        }
        std::fprintf(res, "\n");
        dut->clk = 1;
        dut->eval();
        dut->clk = 0;
        dut->eval();
    }
    std::fclose(res);
    dut->final();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--cycles") == 0) return replay_cycles(argc, argv);
    if (argc != 9 && argc != 10) {
        die("usage: hadamhw_batch VECTORS RESULTS SEED GAPS MAX_CYCLES IN_WORD_BITS "
            "OUT_WORD_BITS STREAMS [BEATS]");
    }
    const std::string vec_path = argv[1];
    const std::string res_path = argv[2];
    Rng rng{std::strtoull(argv[3], nullptr, 10) * 0x2545F4914F6CDD1DULL + 1};
    const bool gaps = std::atoi(argv[4]) != 0;
    const uint64_t max_cycles = std::strtoull(argv[5], nullptr, 10);
    const int in_word_bits = std::atoi(argv[6]);
    const int out_word_bits = std::atoi(argv[7]);
    const long stream_count = std::atol(argv[8]);
    if (stream_count < 1) die("STREAMS must be at least 1");
#ifndef HADAMHW_TID
    if (stream_count != 1) die("this core has no s_axis_tid: STREAMS must be 1");
#endif

    // The whole file at once. The binary form (hadamhw.ir.stimulus.write_vectors_binary:
    // the same integers as little-endian int64) needs no parsing: reading text numbers, even
    // by strtoll, was a fifth of a harness process.
    std::ifstream file(vec_path, std::ios::binary);
    if (!file) die("cannot open " + vec_path);
    file.seekg(0, std::ios::end);
    std::string text(static_cast<std::size_t>(std::max<std::streamoff>(0, file.tellg())), '\0');
    file.seekg(0, std::ios::beg);
    if (!file.read(text.data(), static_cast<std::streamsize>(text.size()))) {
        die("cannot read " + vec_path);
    }
    const std::string binary_magic = "hadamhw-vectors-bin 1\n";
    const bool binary = text.compare(0, binary_magic.size(), binary_magic) == 0;
    const char* pos = text.c_str() + (binary ? binary_magic.size() : 0);
    const char* const end_of_text = text.c_str() + text.size();
    bool truncated = false;
    auto next = [&]() -> long long {
        if (binary) {
            if (end_of_text - pos < 8) {
                truncated = true;
                return 0;
            }
            int64_t v;
            std::memcpy(&v, pos, 8);  // written little-endian, as every host this runs on
            pos += 8;
            return v;
        }
        char* end = nullptr;
        const long long v = std::strtoll(pos, &end, 10);
        if (end == pos) truncated = true;
        pos = end;
        return v;
    };
    // a count the rest of the file cannot hold is a cut-off (or foreign) file, not a reason
    // to allocate gigabytes: every number takes 8 bytes, or 2 characters as text
    auto numbers_left = [&]() -> std::size_t {
        return static_cast<std::size_t>(end_of_text - pos) / (binary ? 8 : 2) + 1;
    };
    auto next_count = [&]() -> std::size_t {
        const long long v = next();
        if (v < 0) die(vec_path + ": negative count " + std::to_string(v));
        return static_cast<std::size_t>(v);
    };
    if (!binary) {
        const std::string magic = "hadamhw-vectors";
        if (text.compare(0, magic.size(), magic) != 0) {
            die(vec_path + ": not a hadamhw vector file");
        }
        pos += magic.size();
        if (next() != 1 || truncated) die(vec_path + ": not a hadamhw vector file");
    }
    const std::size_t count = next_count();
    const std::size_t in_words = next_count();
    const std::size_t out_words = next_count();
    if (truncated || count > numbers_left() || in_words > numbers_left() ||
        out_words > numbers_left()) {
        die(vec_path + ": truncated");
    }
    std::vector<Sequence> seqs(count);
    for (auto& s : seqs) {
        s.steps = next_count();
        s.readouts = next_count();
        const std::size_t room = numbers_left();
        if (s.steps > room || s.readouts > room ||
            s.steps * in_words + s.readouts * (out_words + 1) > room) {
            die(vec_path + ": truncated");
        }
        s.inputs.resize(s.steps * in_words);
        for (auto& v : s.inputs) v = next();
        s.expect.resize(s.readouts * (out_words + 1));
        for (auto& v : s.expect) v = next();
        if (truncated) die(vec_path + ": truncated");
    }
    std::vector<Stream> streams(static_cast<std::size_t>(stream_count));
    for (std::size_t i = 0; i < count; ++i) {
        streams[i % streams.size()].seqs.push_back(i);
    }
    // Output cursors skip sequences without readouts.
    auto skip_empty = [&](Stream& st) {
        while (st.out_seq < st.seqs.size() && seqs[st.seqs[st.out_seq]].readouts == 0) {
            ++st.out_seq;
        }
    };
    for (auto& st : streams) skip_empty(st);
    auto outputs_done = [&]() {
        for (const auto& st : streams) {
            if (st.out_seq < st.seqs.size()) return false;
        }
        return true;
    };

    auto ctx = std::make_unique<VerilatedContext>();
    auto dut = std::make_unique<Vdut>(ctx.get());
    std::FILE* res = std::fopen(res_path.c_str(), "w");
    if (!res) die("cannot write " + res_path);
    std::FILE* beats_out = nullptr;  // record mode
    if (argc == 10) {
        beats_out = std::fopen(argv[9], "w");
        if (!beats_out) die(std::string("cannot write ") + argv[9]);
    }

    std::size_t mismatches = 0, beats = 0, extra = 0, protocol = 0, in_stalls = 0;
    auto report = [&](long seq, long step, long index, int64_t expected, int64_t got) {
        if (mismatches < kMaxReported) {
            std::fprintf(res, "M %ld %ld %ld %lld %lld\n", seq, step, index,
                         static_cast<long long>(expected), static_cast<long long>(got));
        }
        ++mismatches;
    };

    // reset
    dut->clk = 0;
    dut->rst = 1;
    dut->s_axis_tvalid = 0;
    dut->s_axis_tlast = 0;
    dut->m_axis_tready = 0;
    dut->eval();
    for (int i = 0; i < 3; ++i) {
        dut->clk = 1;
        dut->eval();
        dut->clk = 0;
        dut->eval();
    }
    dut->rst = 0;

    const auto started = std::chrono::steady_clock::now();
    const std::clock_t cpu_started = std::clock();
    Pattern in_pattern{gaps}, out_pattern{gaps};
    std::size_t inputs_left = 0;
    for (const auto& s : seqs) inputs_left += s.steps;
    std::size_t rr = 0;       // round robin: the next stream to offer
    std::size_t last = 0;     // the stream offered last (random order: back to back at times)
    std::size_t cur = 0;      // the stream of the beat on offer
    bool offering = false;
    bool held = false;  // last cycle ended with m_axis_tvalid && !m_axis_tready
    std::remove_reference<decltype(dut->m_axis_tdata)>::type held_data{};
    uint64_t held_user = 0, held_last = 0, held_tid = 0;
    uint64_t cycle = 0, last_beat_cycle = 0, drain = 0;
    const uint64_t drain_cycles = 64;  // after the last expected beat: catch extra beats
    const std::size_t P = streams.size();

    while (cycle < max_cycles) {
        if (!offering && inputs_left > 0 && in_pattern.step(rng)) {
            std::size_t pick = P;
            if (!gaps) {
                for (std::size_t i = 0; i < P; ++i) {
                    const std::size_t s = (rr + i) % P;
                    if (streams[s].has_input()) {
                        pick = s;
                        break;
                    }
                }
                rr = (pick + 1) % P;
            } else if (streams[last].has_input() && rng.below(4) == 0) {
                pick = last;  // the same stream again: its step must wait for the loop
            } else {
                std::size_t active = 0;
                for (const auto& st : streams) active += st.has_input() ? 1 : 0;
                std::size_t nth = static_cast<std::size_t>(rng.below(active));
                for (std::size_t s = 0; s < P; ++s) {
                    if (streams[s].has_input() && nth-- == 0) {
                        pick = s;
                        break;
                    }
                }
            }
            cur = last = pick;
            const Stream& st = streams[cur];
            const Sequence& s = seqs[st.seqs[st.in_seq]];
            for (std::size_t w = 0; w < in_words; ++w) {
                put_bits(dut->s_axis_tdata, static_cast<int>(w) * in_word_bits, in_word_bits,
                         static_cast<uint64_t>(s.inputs[st.in_step * in_words + w]));
            }
            dut->s_axis_tlast = (st.in_step + 1 == s.steps) ? 1 : 0;
#ifdef HADAMHW_TID
            dut->s_axis_tid = static_cast<uint32_t>(cur);
#endif
            offering = true;
        }
        dut->s_axis_tvalid = offering ? 1 : 0;
        const bool ready = !gaps || outputs_done() || out_pattern.step(rng);
        dut->m_axis_tready = ready ? 1 : 0;
        dut->eval();

        const bool in_fire = offering && dut->s_axis_tready;
        if (offering && !in_fire) ++in_stalls;
        const bool out_valid = dut->m_axis_tvalid;
#ifdef HADAMHW_TID
        const uint64_t tid = static_cast<uint64_t>(dut->m_axis_tid);
#else
        const uint64_t tid = 0;
#endif
        if (held) {
            // AXI4-Stream: a beat offered must stay, unchanged, until it is taken.
            if (!out_valid || !same_bits(held_data, dut->m_axis_tdata) ||
                held_user != get_bits(dut->m_axis_tuser, 0, 32) ||
                held_last != static_cast<uint64_t>(dut->m_axis_tlast) || held_tid != tid) {
                ++protocol;
                report(-1, -1, -3, 1, 0);
            }
        }
        if (out_valid && ready) {
            Stream* st = tid < P ? &streams[tid] : nullptr;
            if (st == nullptr || st->out_seq >= st->seqs.size()) {
                // a beat no stream expects: an extra beat, or one with a wrong m_axis_tid
                ++extra;
                report(st == nullptr ? -1 : static_cast<long>(count), static_cast<long>(extra - 1),
                       -4, -1, static_cast<int64_t>(tid));
            } else {
                const std::size_t seq = st->seqs[st->out_seq];
                const Sequence& s = seqs[seq];
                const int64_t* e = &s.expect[st->out_read * (out_words + 1)];
                if (beats_out) std::fprintf(beats_out, "B %zu %zu", seq, st->out_read);
                for (std::size_t w = 0; w < out_words; ++w) {
                    const int64_t got = sign_extend(
                        get_bits(dut->m_axis_tdata, static_cast<int>(w) * out_word_bits,
                                 out_word_bits),
                        out_word_bits);
                    if (beats_out) {
                        std::fprintf(beats_out, " %lld", static_cast<long long>(got));
                    } else if (got != e[w]) {
                        report(static_cast<long>(seq), static_cast<long>(st->out_read),
                               static_cast<long>(w), e[w], got);
                    }
                }
                const int64_t got_am = static_cast<int64_t>(get_bits(dut->m_axis_tuser, 0, 32));
                if (beats_out) {
                    std::fprintf(beats_out, " %lld %d\n", static_cast<long long>(got_am),
                                 static_cast<int>(dut->m_axis_tlast));
                } else if (got_am != e[out_words]) {
                    report(static_cast<long>(seq), static_cast<long>(st->out_read), -1,
                           e[out_words], got_am);
                }
                const int64_t want_last = (st->out_read + 1 == s.readouts) ? 1 : 0;
                if (static_cast<int64_t>(dut->m_axis_tlast) != want_last) {
                    report(static_cast<long>(seq), static_cast<long>(st->out_read), -2,
                           want_last, static_cast<int64_t>(dut->m_axis_tlast));
                }
                ++beats;
                last_beat_cycle = cycle + 1;
                if (++st->out_read == s.readouts) {
                    st->out_read = 0;
                    ++st->out_seq;
                    skip_empty(*st);
                }
            }
        }
        held = out_valid && !ready;
        if (held) {
            held_data = dut->m_axis_tdata;
            held_user = get_bits(dut->m_axis_tuser, 0, 32);
            held_last = dut->m_axis_tlast;
            held_tid = tid;
        }

        dut->clk = 1;
        dut->eval();
        dut->clk = 0;
        ++cycle;
        if (in_fire) {
            offering = false;
            --inputs_left;
            Stream& st = streams[cur];
            if (++st.in_step == seqs[st.seqs[st.in_seq]].steps) {
                st.in_step = 0;
                ++st.in_seq;
            }
        }
        if (inputs_left == 0 && outputs_done() && ++drain > drain_cycles) break;
    }

    // readouts that never arrived
    for (const auto& st : streams) {
        for (std::size_t i = st.out_seq; i < st.seqs.size(); ++i) {
            const Sequence& s = seqs[st.seqs[i]];
            for (std::size_t r = (i == st.out_seq ? st.out_read : 0); r < s.readouts; ++r) {
                report(static_cast<long>(st.seqs[i]), static_cast<long>(r), -1,
                       s.expect[r * (out_words + 1) + out_words], -1);
            }
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu_seconds =
        static_cast<double>(std::clock() - cpu_started) / static_cast<double>(CLOCKS_PER_SEC);
    std::fprintf(res, "S %llu %zu %zu %zu %zu %zu %.6f %.6f\n",
                 static_cast<unsigned long long>(last_beat_cycle), beats, mismatches, extra,
                 protocol, in_stalls, seconds, cpu_seconds);
    std::fclose(res);
    if (beats_out) std::fclose(beats_out);
    dut->final();
    return 0;
}
