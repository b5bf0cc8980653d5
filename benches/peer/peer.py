#!/usr/bin/env python3
"""The peer pipeline, per file, as a typical Python speech emotion recognizer runs it:
soundfile reads the file, librosa resamples it to 16 kHz and computes 40 MFCCs
(n_fft 512, hop 160, window 400), onnxruntime runs the classifier once over the whole
clip on one thread. Prints one verdict per file and, on stderr, the seconds taken.

    python peer.py FILE...
"""

import sys
import time

import librosa
import numpy as np
import onnxruntime as ort
import soundfile as sf

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]


def main(files):
    t0 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    model = __file__.rsplit("/", 1)[0] + "/peer-model.onnx" if "/" in __file__ else "peer-model.onnx"
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    for path in files:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
        if rate != 16000:
            audio = librosa.resample(audio, orig_sr=rate, target_sr=16000)
        mfcc = librosa.feature.mfcc(y=audio, sr=16000, n_mfcc=40, n_fft=512, hop_length=160, win_length=400)
        probs = session.run(None, {"mfcc": mfcc.T[None].astype(np.float32)})[0][0]
        print(f"{path}\t{LABELS[int(np.argmax(probs))]}")
    print(f"peer: {len(files)} files in {time.perf_counter() - t0:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
