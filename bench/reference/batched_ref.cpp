// Reference measurement on llama.cpp's C API alone, linked against the very static libraries
// that the llama-cpp-sys-2 crate built for cotlens (same source, same flags). It does what
// llama.cpp's llama-batched-bench does (the crate does not vendor that tool's source):
// prefill a prompt of NPP tokens per sequence, then decode NTG tokens for NPL sequences at once,
// feeding a fixed token (no sampling), and reports tokens/s.
//
// Usage: batched_ref MODEL.gguf THREADS NPP NTG NPL...
#include "llama.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static void quiet_log(ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: %s MODEL.gguf THREADS NPP NTG NPL...\n", argv[0]);
        return 2;
    }
    const char * path = argv[1];
    const int threads = std::atoi(argv[2]);
    const int npp = std::atoi(argv[3]);
    const int ntg = std::atoi(argv[4]);
    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(path, llama_model_default_params());
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", path);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::string text;
    // The same text as crates/cotlens-local/examples/bench_local.rs.
    for (int i = 0; i < npp / 10; i++) text += "The old dragon flew over the quiet mountains. ";
    text += "Tell the rest of the story in detail.";
    std::vector<llama_token> prompt(npp + 16);
    int n = llama_tokenize(vocab, text.c_str(), (int)text.size(), prompt.data(), (int)prompt.size(), true, false);
    prompt.resize(n > npp ? npp : n);

    for (int a = 5; a < argc; a++) {
        const int npl = std::atoi(argv[a]);
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = npl * (npp + ntg) + 64;
        cp.n_batch = 512;
        cp.n_ubatch = 512;
        cp.n_seq_max = npl;
        cp.n_threads = threads;
        cp.n_threads_batch = threads;
        cp.kv_unified = true;
        llama_context * ctx = llama_init_from_model(model, cp);
        llama_batch batch = llama_batch_init(512, 0, npl);
        // Prefill each sequence's prompt.
        double t0 = now_s();
        for (int s = 0; s < npl; s++) {
            batch.n_tokens = 0;
            for (size_t i = 0; i < prompt.size(); i++) {
                int k = batch.n_tokens++;
                batch.token[k] = prompt[i];
                batch.pos[k] = (llama_pos)i;
                batch.n_seq_id[k] = 1;
                batch.seq_id[k][0] = s;
                batch.logits[k] = i + 1 == prompt.size();
            }
            if (llama_decode(ctx, batch) != 0) { std::fprintf(stderr, "decode failed\n"); return 1; }
        }
        double t_pp = now_s() - t0;
        // Decode NTG steps, one token per sequence per step.
        double t1 = now_s();
        for (int step = 0; step < ntg; step++) {
            batch.n_tokens = 0;
            for (int s = 0; s < npl; s++) {
                int k = batch.n_tokens++;
                batch.token[k] = prompt[step % prompt.size()];
                batch.pos[k] = (llama_pos)(prompt.size() + step);
                batch.n_seq_id[k] = 1;
                batch.seq_id[k][0] = s;
                batch.logits[k] = 1;
            }
            if (llama_decode(ctx, batch) != 0) { std::fprintf(stderr, "decode failed\n"); return 1; }
        }
        double t_tg = now_s() - t1;
        std::printf("{\"measure\":\"reference\",\"parallel\":%d,\"prompt_tokens\":%zu,\"prefill_tokens_per_s\":%.1f,\"generated_tokens\":%d,\"decode_tokens_per_s\":%.1f}\n",
                    npl, prompt.size(), npl * prompt.size() / t_pp, npl * ntg, npl * ntg / t_tg);
        llama_batch_free(batch);
        llama_free(ctx);
    }
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
