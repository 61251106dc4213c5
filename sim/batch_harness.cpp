// Direct Verilator harness for a hadamhw core: drives a whole vector file through the
// AXI4-Stream ports (random input gaps and output back-pressure when asked), checks every
// output beat against the golden values and writes a small result file. No per-cycle
// scripting: this is the bulk bit-exactness check (hadamhw.verify.verilator_batch).
//
// usage: hadamhw_batch VECTORS RESULTS SEED GAPS MAX_CYCLES IN_WORD_BITS OUT_WORD_BITS [BEATS]
//
// RESULTS lines:
//   M <sequence> <step> <index> <expected> <got>   a mismatch; index -1 argmax, -2 tlast
//                                                  (the first kMaxReported only)
//   S <cycles> <beats_checked> <mismatches> <extra_beats> <protocol_errors>   summary;
//                                                  <mismatches> is the true total
//
// With BEATS (hadamhw.verify.predict), every output beat is written there as
//   B <sequence> <step> <word 0> ... <word d-1> <argmax> <tlast>
// and the values are not compared (the vector file's expected values are placeholders); the
// beat count, tlast and the hold-stable rule are still checked.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
template <typename T>
typename std::enable_if<std::is_integral<T>::value>::type put_bits(T& port, int lsb, int width,
                                                                   uint64_t value) {
    const uint64_t mask = width >= 64 ? ~0ULL : ((1ULL << width) - 1);
    uint64_t v = static_cast<uint64_t>(port);
    v = (v & ~(mask << lsb)) | ((value & mask) << lsb);
    port = static_cast<T>(v);
}

template <std::size_t Words>
void put_bits(VlWide<Words>& port, int lsb, int width, uint64_t value) {
    for (int i = 0; i < width; ++i) {
        const int b = lsb + i;
        const uint32_t bit = static_cast<uint32_t>((value >> i) & 1U);
        EData& word = port[b / 32];
        word = (word & ~(1U << (b % 32))) | (bit << (b % 32));
    }
}

template <typename T>
typename std::enable_if<std::is_integral<T>::value, uint64_t>::type get_bits(const T& port,
                                                                             int lsb, int width) {
    const uint64_t mask = width >= 64 ? ~0ULL : ((1ULL << width) - 1);
    return (static_cast<uint64_t>(port) >> lsb) & mask;
}

template <std::size_t Words>
uint64_t get_bits(const VlWide<Words>& port, int lsb, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) {
        const int b = lsb + i;
        v |= static_cast<uint64_t>((port[b / 32] >> (b % 32)) & 1U) << i;
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

// A valid/ready pattern: mostly on, with short gaps and now and then a long stall.
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
            stall_left = 1 + static_cast<int>(rng.below(16));
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

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "hadamhw_batch: %s\n", msg.c_str());
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 8 && argc != 9) {
        die("usage: hadamhw_batch VECTORS RESULTS SEED GAPS MAX_CYCLES IN_WORD_BITS "
            "OUT_WORD_BITS [BEATS]");
    }
    const std::string vec_path = argv[1];
    const std::string res_path = argv[2];
    Rng rng{std::strtoull(argv[3], nullptr, 10) * 0x2545F4914F6CDD1DULL + 1};
    const bool gaps = std::atoi(argv[4]) != 0;
    const uint64_t max_cycles = std::strtoull(argv[5], nullptr, 10);
    const int in_word_bits = std::atoi(argv[6]);
    const int out_word_bits = std::atoi(argv[7]);

    std::ifstream in(vec_path);
    if (!in) die("cannot open " + vec_path);
    std::string magic;
    int version = 0;
    in >> magic >> version;
    if (magic != "hadamhw-vectors" || version != 1) die(vec_path + ": not a hadamhw vector file");
    std::size_t count = 0, in_words = 0, out_words = 0;
    in >> count >> in_words >> out_words;
    std::vector<Sequence> seqs(count);
    for (auto& s : seqs) {
        in >> s.steps >> s.readouts;
        s.inputs.resize(s.steps * in_words);
        for (auto& v : s.inputs) in >> v;
        s.expect.resize(s.readouts * (out_words + 1));
        for (auto& v : s.expect) in >> v;
        if (!in) die(vec_path + ": truncated");
    }

    auto ctx = std::make_unique<VerilatedContext>();
    auto dut = std::make_unique<Vdut>(ctx.get());
    std::FILE* res = std::fopen(res_path.c_str(), "w");
    if (!res) die("cannot write " + res_path);
    std::FILE* beats_out = nullptr;  // record mode
    if (argc == 9) {
        beats_out = std::fopen(argv[8], "w");
        if (!beats_out) die(std::string("cannot write ") + argv[8]);
    }

    std::size_t mismatches = 0, beats = 0, extra = 0, protocol = 0;
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

    Pattern in_pattern{gaps}, out_pattern{gaps};
    std::size_t in_seq = 0, in_step = 0;  // next input beat to offer
    std::size_t out_seq = 0, out_read = 0;  // next readout expected
    while (out_seq < count && seqs[out_seq].readouts == 0) ++out_seq;
    bool offering = false;
    bool held = false;  // last cycle ended with m_axis_tvalid && !m_axis_tready
    std::remove_reference<decltype(dut->m_axis_tdata)>::type held_data{};
    uint64_t held_user = 0, held_last = 0;
    uint64_t cycle = 0, last_beat_cycle = 0, drain = 0;
    const uint64_t drain_cycles = 64;  // after the last expected beat: catch extra beats

    while (cycle < max_cycles) {
        if (!offering && in_seq < count && in_pattern.step(rng)) {
            const Sequence& s = seqs[in_seq];
            for (std::size_t w = 0; w < in_words; ++w) {
                put_bits(dut->s_axis_tdata, static_cast<int>(w) * in_word_bits, in_word_bits,
                         static_cast<uint64_t>(s.inputs[in_step * in_words + w]));
            }
            dut->s_axis_tlast = (in_step + 1 == s.steps) ? 1 : 0;
            offering = true;
        }
        dut->s_axis_tvalid = offering ? 1 : 0;
        const bool ready = out_seq >= count ? true : out_pattern.step(rng);
        dut->m_axis_tready = ready ? 1 : 0;
        dut->eval();

        const bool in_fire = offering && dut->s_axis_tready;
        const bool out_valid = dut->m_axis_tvalid;
        if (held) {
            // AXI4-Stream: a beat offered must stay, unchanged, until it is taken.
            if (!out_valid || !same_bits(held_data, dut->m_axis_tdata) ||
                held_user != get_bits(dut->m_axis_tuser, 0, 32) ||
                held_last != static_cast<uint64_t>(dut->m_axis_tlast)) {
                ++protocol;
                report(static_cast<long>(out_seq), static_cast<long>(out_read), -3, 1, 0);
            }
        }
        if (out_valid && ready) {
            if (out_seq >= count) {
                ++extra;
                report(static_cast<long>(count), static_cast<long>(extra - 1), -1, -1,
                       static_cast<int64_t>(get_bits(dut->m_axis_tuser, 0, 32)));
            } else {
                const Sequence& s = seqs[out_seq];
                const int64_t* e = &s.expect[out_read * (out_words + 1)];
                if (beats_out) std::fprintf(beats_out, "B %zu %zu", out_seq, out_read);
                for (std::size_t w = 0; w < out_words; ++w) {
                    const int64_t got = sign_extend(
                        get_bits(dut->m_axis_tdata, static_cast<int>(w) * out_word_bits,
                                 out_word_bits),
                        out_word_bits);
                    if (beats_out) {
                        std::fprintf(beats_out, " %lld", static_cast<long long>(got));
                    } else if (got != e[w]) {
                        report(static_cast<long>(out_seq), static_cast<long>(out_read),
                               static_cast<long>(w), e[w], got);
                    }
                }
                const int64_t got_am = static_cast<int64_t>(get_bits(dut->m_axis_tuser, 0, 32));
                if (beats_out) {
                    std::fprintf(beats_out, " %lld %d\n", static_cast<long long>(got_am),
                                 static_cast<int>(dut->m_axis_tlast));
                } else if (got_am != e[out_words]) {
                    report(static_cast<long>(out_seq), static_cast<long>(out_read), -1,
                           e[out_words], got_am);
                }
                const int64_t want_last = (out_read + 1 == s.readouts) ? 1 : 0;
                if (static_cast<int64_t>(dut->m_axis_tlast) != want_last) {
                    report(static_cast<long>(out_seq), static_cast<long>(out_read), -2,
                           want_last, static_cast<int64_t>(dut->m_axis_tlast));
                }
                ++beats;
                last_beat_cycle = cycle + 1;
                if (++out_read == s.readouts) {
                    out_read = 0;
                    ++out_seq;
                    while (out_seq < count && seqs[out_seq].readouts == 0) ++out_seq;
                }
            }
        }
        held = out_valid && !ready;
        if (held) {
            held_data = dut->m_axis_tdata;
            held_user = get_bits(dut->m_axis_tuser, 0, 32);
            held_last = dut->m_axis_tlast;
        }

        dut->clk = 1;
        dut->eval();
        dut->clk = 0;
        ++cycle;
        if (in_fire) {
            offering = false;
            if (++in_step == seqs[in_seq].steps) {
                in_step = 0;
                ++in_seq;
            }
        }
        if (out_seq >= count && in_seq >= count && ++drain > drain_cycles) break;
    }

    // readouts that never arrived
    for (std::size_t s = out_seq; s < count; ++s) {
        for (std::size_t r = (s == out_seq ? out_read : 0); r < seqs[s].readouts; ++r) {
            report(static_cast<long>(s), static_cast<long>(r), -1,
                   seqs[s].expect[r * (out_words + 1) + out_words], -1);
        }
    }
    std::fprintf(res, "S %llu %zu %zu %zu %zu\n", static_cast<unsigned long long>(last_beat_cycle),
                 beats, mismatches, extra, protocol);
    std::fclose(res);
    if (beats_out) std::fclose(beats_out);
    dut->final();
    return 0;
}
