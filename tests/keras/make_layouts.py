#!/usr/bin/python3
"""Writes one set of CRNN weights as HDF5 files in the layouts Keras 1.x, Keras 2.x, tf.keras and
Keras 3 write (weights-only and full-model), plus damaged and mismatching files, for tests/test_keras.c.

    make_layouts.py npy DIR OUT      weights from DIR/<param>.npy (musicmap's names and layouts)
    make_layouts.py h5 FILE OUT      weights from a Keras 2 weights file of the same network
    make_layouts.py head FILE GATES SEQ OUT
                                     the recurrent head of a Keras 2-style FILE (kernel,
                                     recurrent_kernel, bias; gates hard_sigmoid or sigmoid where
                                     its config doesn't say) computed here in float64 on SEQ
                                     (n, steps, channels): OUT (n, units + outputs), the last GRU
                                     state then the sigmoid outputs

musicmap's layouts (the canonical form here): convK.w (out, in, 3, 3) applied as cross-correlation;
bnK.{gamma,beta,mean,var}; gruK.W (in, 3U), .U (U, 3U), .b (3U) in z | r | h blocks; dense.W (U, K).
Writes OUT/<layout>.h5 and OUT/manifest.txt: one line per file, "name kind options", kind `good`,
`epsilon` (same network, other epsilon) or `bad:<phrase the refusal must contain>`; options, comma-
separated: `th` (Theano's kernels, unrecorded), `sigmoid` (the GRUs compute sigmoid gates),
`reset_after` (the GRUs are reset_after ones: bias (2, 3U), the known bias then a recurrent bias made
here), `head` (tests/test_keras.c checks the recurrent head against `head` mode).

The layouts follow Keras' own save code: layer_names on the root (weights-only) or on model_weights
(full model, with model_config JSON); per layer group a weight_names list and a dataset per name; an
empty weight_names is the float64 (0,) array h5py writes for []. Keras 1 names weights
<layer>_<param>[_N][:0] and keeps GRUs as nine arrays W_z U_z b_z W_r U_r b_r W_h U_h b_h; Theano
convolves, so its kernels are flipped in both spatial axes."""

import json
import os
import sys

import h5py
import numpy as np


def load_npy(folder):
    w = {}
    for name in os.listdir(folder):
        if name.endswith(".npy"):
            w[name[:-4]] = np.load(os.path.join(folder, name)).astype(np.float32)
    return w


def load_keras2(path):
    """A Keras 2 weights-only file (layer/layer/kernel:0) of the CRNN -> canonical."""
    w = {}
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        bn = 0
        for layer in names:
            g = f[layer]
            wn = [n.decode() for n in g.attrs["weight_names"]]
            if not wn:
                continue
            arr = {n.split("/")[-1].split(":")[0]: np.array(g[n], dtype=np.float32) for n in wn}
            if "moving_mean" in arr:
                key = "bn%d" % bn
                bn += 1
                w[key + ".gamma"], w[key + ".beta"] = arr["gamma"], arr["beta"]
                w[key + ".mean"], w[key + ".var"] = arr["moving_mean"], arr["moving_variance"]
            elif "recurrent_kernel" in arr:
                key = "gru1" if "gru1.W" not in w else "gru2"
                w[key + ".W"], w[key + ".U"], w[key + ".b"] = arr["kernel"], arr["recurrent_kernel"], arr["bias"]
            elif arr["kernel"].ndim == 4:
                key = "conv%d" % bn
                w[key + ".w"] = np.ascontiguousarray(arr["kernel"].transpose(3, 2, 0, 1))
                w[key + ".b"] = arr["bias"]
            else:
                w["dense.W"], w["dense.b"] = arr["kernel"], arr["bias"]
    return w


def n_blocks(w):
    return len([k for k in w if k.startswith("conv") and k.endswith(".w")])


# --- how each Keras stores a kernel --------------------------------------------------------------

def kernel_th(k, flip):
    """(out, in, 3, 3); Theano's flipped in both spatial axes."""
    return np.ascontiguousarray(k[:, :, ::-1, ::-1] if flip else k)


def kernel_tf(k, flip):
    """(3, 3, in, out)."""
    return np.ascontiguousarray(kernel_th(k, flip).transpose(2, 3, 1, 0))


def gru_split(W, U, b):
    u = U.shape[0]
    return {g: (W[:, i * u:(i + 1) * u], U[:, i * u:(i + 1) * u], b[i * u:(i + 1) * u]) for i, g in enumerate("zrh")}


def recurrent_bias(w, key):
    """The recurrent bias a reset_after layout adds to the known weights: fixed per layer, non-zero."""
    seed = {"gru1": 1, "gru2": 2}[key]
    return np.random.RandomState(seed).uniform(-0.2, 0.2, w[key + ".b"].shape).astype(np.float32)


# --- the recurrent head as Keras computes it, in float64 (independent of musicmap's C) ----------------

def hard_sigmoid(v):
    """Keras 1.x / 2.x / tf.keras: clip(0.2 v + 0.5, 0, 1) (Keras 3's is clip(v / 6 + 0.5, 0, 1))."""
    return np.clip(0.2 * v + 0.5, 0.0, 1.0)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def gru_reference(x, kernel, recurrent, bias, gates):
    """Keras' GRUCell over x (n, steps, in) from h0 = 0: reset before the recurrent product with a (3u)
    bias, after it (reset_after) with a (2, 3u) one (input bias, recurrent bias). Returns (n, steps, u)."""
    g = sigmoid if gates == "sigmoid" else hard_sigmoid
    u = recurrent.shape[0]
    W, U = kernel.astype(np.float64), recurrent.astype(np.float64)
    after = bias.ndim == 2
    b_in = bias[0] if after else bias
    h = np.zeros((x.shape[0], u))
    out = []
    for t in range(x.shape[1]):
        xw = x[:, t].astype(np.float64) @ W + b_in
        x_z, x_r, x_h = xw[:, :u], xw[:, u:2 * u], xw[:, 2 * u:]
        if after:
            hu = h @ U + bias[1]
            z, r = g(x_z + hu[:, :u]), g(x_r + hu[:, u:2 * u])
            hh = np.tanh(x_h + r * hu[:, 2 * u:])
        else:
            z, r = g(x_z + h @ U[:, :u]), g(x_r + h @ U[:, u:2 * u])
            hh = np.tanh(x_h + (r * h) @ U[:, 2 * u:])
        h = z * h + (1.0 - z) * hh
        out.append(h)
    return np.stack(out, axis=1)


def read_head(path):
    """The GRU layers' and the dense layer's arrays of a Keras 2-style file, in layer order, and the GRUs'
    recurrent activations from its model config (None where there is none)."""
    with h5py.File(path, "r") as f:
        group = f if "layer_names" in f.attrs or "layer_names0" in f.attrs else f["model_weights"]
        keys = sorted((k for k in group.attrs if k.startswith("layer_names")), key=lambda k: (len(k), k))
        names = [n.decode() if isinstance(n, bytes) else n for k in keys for n in group.attrs[k]]
        activations = {}
        if "model_config" in f.attrs:
            text = f.attrs["model_config"]
            config = json.loads(text.decode() if isinstance(text, bytes) else text)
            for entry in config["config"]["layers"]:
                if entry["class_name"] == "GRU":
                    activations[entry["config"]["name"]] = entry["config"]["recurrent_activation"]
        grus, dense = [], None
        for layer in names:
            g = group[layer]
            arr = {}
            for n in g.attrs["weight_names"]:
                n = n.decode() if isinstance(n, bytes) else n
                arr[n.split("/")[-1].split(":")[0]] = np.array(g[n])
            if "recurrent_kernel" in arr:
                grus.append((arr["kernel"], arr["recurrent_kernel"], arr["bias"], activations.get(layer)))
            elif "kernel" in arr and arr["kernel"].ndim == 2:
                dense = (arr["kernel"], arr["bias"])
    return grus, dense


def head(path, gates, seq_path, out_path):
    grus, (dense_w, dense_b) = read_head(path)
    assert len(grus) == 2, path
    x = np.load(seq_path).astype(np.float64)
    for kernel, recurrent, bias, recorded in grus:
        assert recorded in (None, gates), (path, recorded, gates)  # the config, where there is one, agrees
        x = gru_reference(x, kernel, recurrent, bias, gates)
    last = x[:, -1]
    outputs = sigmoid(last @ dense_w.astype(np.float64) + dense_b)
    np.save(out_path, np.concatenate([last, outputs], axis=1).astype(np.float32))


# --- files ---------------------------------------------------------------------------------------

def fixed(names):
    return np.array([n.encode("utf8") for n in names], dtype="S")


def write_layers(group, layers, vlen=False, chunks=1):
    """layers: [(name, [(weight_name, array), ...]), ...] in the model's order."""
    names = [name for name, _ in layers]
    if chunks > 1:
        for i, part in enumerate(np.array_split(np.array(names, dtype=object), chunks)):
            group.attrs["layer_names%d" % i] = fixed(list(part))
    elif vlen:
        group.attrs["layer_names"] = [n.encode("utf8") for n in names]  # h5py 3: variable-length
    else:
        group.attrs["layer_names"] = fixed(names)
    for name, weights in layers:
        g = group.create_group(name)
        g.attrs["weight_names"] = fixed([n for n, _ in weights]) if weights else []
        for wname, value in weights:
            g.create_dataset(wname, data=value)


def keras1_layers(w, flip, dim_ordering, gru_gpu=False, suffix=True, order9=None, drop=()):
    """Choi's CRNN as Keras 1.x names it: awkward author names, weight-less layers, `_N:0` suffixes
    under TensorFlow (varying), plain names under Theano."""
    tf_names = suffix
    count = [0]

    def wn(layer, param):
        if not tf_names:
            return "%s_%s" % (layer, param)
        count[0] += 1
        tail = ["_1", "", "_2", "_1"][count[0] % 4]
        return "%s_%s%s:0" % (layer, param, tail)

    def bn(layer, key):
        return (layer, [(wn(layer, "gamma"), w[key + ".gamma"]), (wn(layer, "beta"), w[key + ".beta"]),
                        (wn(layer, "running_mean"), w[key + ".mean"]), (wn(layer, "running_std"), w[key + ".var"])])

    layers = [("input_2", []), ("zeropadding2d_1", []), bn("bn_0_freq", "bn0")]
    for b in range(1, n_blocks(w) + 1):
        k = w["conv%d.w" % b]
        kernel = kernel_th(k, flip) if dim_ordering == "th" else kernel_tf(k, flip)
        layers.append(("conv%d" % b, [(wn("conv%d" % b, "W"), kernel), (wn("conv%d" % b, "b"), w["conv%d.b" % b])]))
        layers.append(bn("bn%d" % b, "bn%d" % b))
        layers += [("elu_%d" % (b + 5), []), ("pool%d" % b, []), ("dropout%d" % b, [])]
    if dim_ordering == "th":
        layers.append(("permute_1", []))
    layers.append(("reshape_1", []))
    for g in (1, 2):
        name, key = "gru%d" % g, "gru%d" % g
        if gru_gpu:
            layers.append((name, [(wn(name, "W"), w[key + ".W"]), (wn(name, "U"), w[key + ".U"]),
                                  (wn(name, "b"), w[key + ".b"])]))
            continue
        parts = gru_split(w[key + ".W"], w[key + ".U"], w[key + ".b"])
        arrays = {}
        for gate in "zrh":
            arrays["W_" + gate], arrays["U_" + gate], arrays["b_" + gate] = parts[gate]
        order = order9 or ["W_z", "U_z", "b_z", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h"]
        layers.append((name, [(wn(name, p), np.ascontiguousarray(arrays[p])) for p in order]))
    layers += [("dropout_final", []), ("output", [(wn("output", "W"), w["dense.W"]), (wn("output", "b"), w["dense.b"])])]
    return [l for l in layers if l[0] not in drop]


def keras1_config(layers, dim_ordering, epsilon=1e-3, sequential=False, gru_gpu=False, inner_activation="hard_sigmoid"):
    entries = []
    prev = None
    for name, weights in layers:
        if name.startswith("input"):
            cls, cfg = "InputLayer", {"batch_input_shape": [None, 1, 96, 1366], "name": name}
        elif name.startswith("zeropadding"):
            cls, cfg = "ZeroPadding2D", {"padding": [0, 37], "dim_ordering": dim_ordering, "name": name}
        elif name.startswith("bn"):
            cls, cfg = "BatchNormalization", {"epsilon": epsilon, "mode": 0, "axis": 1, "momentum": 0.99, "name": name}
        elif name.startswith("conv"):
            cls, cfg = "Convolution2D", {"nb_filter": int(weights[1][1].shape[0]), "nb_row": 3, "nb_col": 3,
                                         "border_mode": "same", "subsample": [1, 1], "dim_ordering": dim_ordering,
                                         "activation": "linear", "bias": True, "name": name}
        elif name.startswith("elu"):
            cls, cfg = "ELU", {"alpha": 1.0, "name": name}
        elif name.startswith("pool"):
            cls, cfg = "MaxPooling2D", {"pool_size": [2, 2], "border_mode": "valid", "name": name}
        elif name.startswith("dropout"):
            cls, cfg = "Dropout", {"p": 0.1, "name": name}
        elif name.startswith("permute"):
            cls, cfg = "Permute", {"dims": [3, 1, 2], "name": name}
        elif name.startswith("reshape"):
            cls, cfg = "Reshape", {"target_shape": [15, 128], "name": name}
        elif name.startswith("gru"):
            cls, cfg = "GRU", {"output_dim": 32, "activation": "tanh", "inner_activation": inner_activation,
                               "return_sequences": name == "gru1", "go_backwards": False,
                               "consume_less": "gpu" if gru_gpu else "cpu", "name": name}
        else:
            cls, cfg = "Dense", {"output_dim": int(weights[1][1].shape[0]), "activation": "sigmoid", "name": name}
        entry = {"class_name": cls, "config": cfg}
        if not sequential:
            entry["name"] = name
            entry["inbound_nodes"] = [[[prev, 0, 0]]] if prev else []
        entries.append(entry)
        prev = name
    if sequential:
        return {"class_name": "Sequential", "config": entries}
    return {"class_name": "Model", "config": {"name": "model_1", "layers": entries,
                                               "input_layers": [[layers[0][0], 0, 0]],
                                               "output_layers": [["output", 0, 0]]}}


def keras2_layers(w, flip, prefix=lambda layer, param: "%s/%s:0" % (layer, param), gru_cell="", reset_after=False):
    """Keras 2 / tf.keras / Keras 3: (3, 3, in, out) kernels, kernel/recurrent_kernel/bias GRUs.
    reset_after: True for both GRUs or a tuple per GRU; their biases (2, 3u): the known bias, then
    recurrent_bias()."""
    def bn(layer, key):
        return (layer, [(prefix(layer, "gamma"), w[key + ".gamma"]), (prefix(layer, "beta"), w[key + ".beta"]),
                        (prefix(layer, "moving_mean"), w[key + ".mean"]),
                        (prefix(layer, "moving_variance"), w[key + ".var"])])

    layers = [("input_1", []), ("zero_padding2d_1", []), bn("bn_0_freq", "bn0")]
    for b in range(1, n_blocks(w) + 1):
        c = "conv%d" % b
        layers.append((c, [(prefix(c, "kernel"), kernel_tf(w[c + ".w"], flip)), (prefix(c, "bias"), w[c + ".b"])]))
        layers.append(bn("bn%d" % b, "bn%d" % b))
        layers += [("elu_%d" % b, []), ("pool%d" % b, []), ("dropout%d" % b, [])]
    layers += [("permute_1", []), ("reshape_1", [])]
    for g in (1, 2):
        name = "gru%d" % g
        cell = name + ("/" + gru_cell if gru_cell else "")
        bias = w[name + ".b"]
        if reset_after is True or (isinstance(reset_after, tuple) and reset_after[g - 1]):
            bias = np.stack([bias, recurrent_bias(w, name)])
        layers.append((name, [(prefix(cell, "kernel"), w[name + ".W"]), (prefix(cell, "recurrent_kernel"), w[name + ".U"]),
                              (prefix(cell, "bias"), bias)]))
    layers += [("final_drop", []), ("output", [(prefix("output", "kernel"), w["dense.W"]),
                                               (prefix("output", "bias"), w["dense.b"])])]
    return layers


def keras2_config(layers, recurrent_activation="hard_sigmoid", reset_after=False):
    """reset_after: as the config says (the weights' shapes say it too)."""
    entries = []
    for name, weights in layers:
        if name.startswith("bn"):
            cls, cfg = "BatchNormalization", {"axis": 2, "momentum": 0.99, "epsilon": 0.001, "center": True,
                                              "scale": True}
        elif name.startswith("conv"):
            cls, cfg = "Conv2D", {"filters": int(weights[1][1].shape[0]), "kernel_size": [3, 3], "strides": [1, 1],
                                  "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
                                  "activation": "linear", "use_bias": True}
        elif name.startswith("gru"):
            cls, cfg = "GRU", {"units": 32, "activation": "tanh", "recurrent_activation": recurrent_activation,
                               "reset_after": reset_after, "go_backwards": False, "return_sequences": name == "gru1"}
        elif name == "output":
            cls, cfg = "Dense", {"units": int(weights[1][1].shape[0]), "activation": "sigmoid"}
        else:
            cls, cfg = "Activation" if name.startswith("elu") else "Layer", {}
        cfg["name"] = name
        entries.append({"class_name": cls, "config": cfg, "name": name, "inbound_nodes": []})
    return {"class_name": "Functional", "config": {"name": "model", "layers": entries}}


def weights_only(path, layers, attrs=None, **kw):
    with h5py.File(path, "w") as f:
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        write_layers(f, layers, **kw)


def full_model(path, layers, config, root_attrs, group_attrs=None, vlen_config=False, **kw):
    with h5py.File(path, "w") as f:
        for k, v in root_attrs.items():
            f.attrs[k] = v
        text = json.dumps(config)
        f.attrs["model_config"] = text if vlen_config else text.encode("utf8")
        f.attrs["training_config"] = json.dumps({"loss": "binary_crossentropy"}).encode("utf8")
        g = f.create_group("model_weights")
        for k, v in (group_attrs or {}).items():
            g.attrs[k] = v
        write_layers(g, layers, **kw)
        f.create_group("optimizer_weights")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "head" and sys.argv[3] in ("hard_sigmoid", "sigmoid"):
        head(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
        return
    if len(sys.argv) != 4 or sys.argv[1] not in ("npy", "h5"):
        sys.exit(__doc__)
    w = load_npy(sys.argv[2]) if sys.argv[1] == "npy" else load_keras2(sys.argv[2])
    out = sys.argv[3]
    os.makedirs(out, exist_ok=True)
    manifest = []

    def add(name, kind, options=""):
        manifest.append(("%s %s %s" % (name, kind, options)).rstrip())
        return os.path.join(out, name + ".h5")

    # Keras 1.x, TensorFlow backend, 'th' dim ordering, weights-only: the issue's file
    weights_only(add("k1_tf_th_weights", "good"), keras1_layers(w, False, "th"))
    # Keras 1.x, Theano backend, weights-only: flipped kernels, plain names; says nothing of its backend
    weights_only(add("k1_theano_weights", "good", "th"), keras1_layers(w, True, "th", suffix=False))
    # Keras 1.x, TensorFlow, 'tf' dim ordering, weights-only, GRUs with consume_less='gpu' (W, U, b)
    weights_only(add("k1_tf_tf_weights_gpu_gru", "good"), keras1_layers(w, False, "tf", gru_gpu=True))
    # Keras 1.2.2 full model (functional), 'tf' ordering, weight_names of the nine GRU arrays by kind
    layers = keras1_layers(w, False, "tf", order9=["W_z", "W_r", "W_h", "U_z", "U_r", "U_h", "b_z", "b_r", "b_h"])
    full_model(add("k1_full_model", "good"), layers, keras1_config(layers, "tf"), {"keras_version": b"1.2.2"})
    # Keras 1 full model (Sequential) trained with Theano, 'th' ordering: flipped kernels
    layers = keras1_layers(w, True, "th", suffix=False)
    full_model(add("k1_theano_full_sequential", "good", "th"), layers, keras1_config(layers, "th", sequential=True),
               {"keras_version": b"1.2.2"})
    # Keras 2.x weights-only (TensorFlow), as the original's file; also the control of the head check
    weights_only(add("k2_tf_weights", "good", "head"), keras2_layers(w, False),
                 {"backend": b"tensorflow", "keras_version": b"2.0.8"})
    # Keras 2.2 full model trained with Theano (it says so: backend attribute)
    layers = keras2_layers(w, True)
    full_model(add("k2_theano_full", "good"), layers, keras2_config(layers),
               {"backend": b"theano", "keras_version": b"2.2.4"},
               {"backend": b"theano", "keras_version": b"2.2.4"}, chunks=2)
    # tf.keras full model: GRU cell variables, variable-length strings, reset_after=False
    layers = keras2_layers(w, False, gru_cell="gru_cell")
    full_model(add("tfkeras_full", "good"), layers, keras2_config(layers),
               {"backend": "tensorflow", "keras_version": "2.4.0"},
               {"backend": "tensorflow", "keras_version": "2.4.0"}, vlen_config=True, vlen=True)
    # tf.keras (TF 2.x) defaults: reset_after GRUs with sigmoid gates, weights-only (the gates assumed)
    # and full model (model_weights, the config says)
    weights_only(add("tfkeras_reset_after_weights", "good", "sigmoid,reset_after,head"),
                 keras2_layers(w, False, gru_cell="gru_cell", reset_after=True),
                 {"backend": "tensorflow", "keras_version": "2.4.0"}, vlen=True)
    layers = keras2_layers(w, False, gru_cell="gru_cell", reset_after=True)
    full_model(add("tfkeras_reset_after_full", "good", "sigmoid,reset_after,head"), layers,
               keras2_config(layers, recurrent_activation="sigmoid", reset_after=True),
               {"backend": "tensorflow", "keras_version": "2.11.0"},
               {"backend": "tensorflow", "keras_version": "2.11.0"}, vlen_config=True, vlen=True)
    # tf.keras with reset_after=False but its default sigmoid gates (full model: the config says)
    layers = keras2_layers(w, False, gru_cell="gru_cell")
    full_model(add("tfkeras_sigmoid_gates_full", "good", "sigmoid,head"), layers,
               keras2_config(layers, recurrent_activation="sigmoid"),
               {"backend": b"tensorflow", "keras_version": b"2.6.0"})
    # Keras 2.1.6: reset_after=True chosen, hard_sigmoid still the default gates
    layers = keras2_layers(w, False, reset_after=True)
    full_model(add("k2_1_reset_after_full", "good", "reset_after,head"), layers,
               keras2_config(layers, reset_after=True), {"backend": b"tensorflow", "keras_version": b"2.1.6"})
    # Keras 1.2.2 full model, nine-array GRUs with inner_activation 'sigmoid'
    layers = keras1_layers(w, False, "tf")
    full_model(add("k1_sigmoid_gates_full", "good", "sigmoid"), layers,
               keras1_config(layers, "tf", inner_activation="sigmoid"), {"keras_version": b"1.2.2"})
    # Keras 3's .h5 (legacy format): bare variable paths, a top_level_model_weights group; its GRUs'
    # default gates are sigmoid (and its hard_sigmoid is not Keras 2's), so sigmoid is assumed
    layers = keras2_layers(w, False, prefix=lambda layer, param: "%s/%s" % (layer, param), gru_cell="gru_cell")
    with h5py.File(add("k3_weights", "good", "sigmoid"), "w") as f:
        f.attrs["backend"], f.attrs["keras_version"] = b"jax", b"3.3.3"
        write_layers(f, layers)
        f.create_group("top_level_model_weights").attrs["weight_names"] = []

    # the same network trained with batch-norm epsilon 1e-5 (Keras 1.1): variances 1e-3 - 1e-5 larger
    eps = dict(w)
    for k in w:
        if k.endswith(".var"):
            eps[k] = (w[k].astype(np.float64) + (1e-3 - 1e-5)).astype(np.float32)
    layers = keras1_layers(eps, False, "tf")
    full_model(add("k1_1_epsilon", "epsilon"), layers, keras1_config(layers, "tf", epsilon=1e-5),
               {"keras_version": b"1.1.2"})

    # refused
    weights_only(add("bad_missing_layer", "bad:layer 'conv4' does not fit"),
                 keras1_layers(w, False, "th", drop=("bn3",)))
    short = dict(w)
    short["conv2.w"] = w["conv2.w"][:, : w["conv2.w"].shape[1] // 2]
    weights_only(add("bad_shape", "bad:layer 'conv2' does not fit"), keras1_layers(short, False, "th"))
    weights_only(add("bad_mixed_gru", "bad:reset_after=False, unlike 'gru1'"),
                 keras2_layers(w, False, reset_after=(True, False)), {"backend": b"tensorflow", "keras_version": b"2.3.1"})
    layers = keras2_layers(w, False)
    full_model(add("bad_reset_after_config", "bad:config says reset_after=True"), layers,
               keras2_config(layers, recurrent_activation="sigmoid", reset_after=True),
               {"backend": b"tensorflow", "keras_version": b"2.3.1"})
    layers = keras2_layers(w, False, gru_cell="gru_cell")
    full_model(add("bad_relu_gates", "bad:recurrent activation 'relu'"), layers,
               keras2_config(layers, recurrent_activation="relu"),
               {"backend": b"tensorflow", "keras_version": b"2.6.0"})
    layers = keras2_layers(w, False, prefix=lambda layer, param: "%s/%s" % (layer, param), gru_cell="gru_cell")
    full_model(add("bad_keras3_hard_sigmoid", "bad:clip(x / 6 + 0.5, 0, 1)"), layers,
               keras2_config(layers, recurrent_activation="hard_sigmoid"),
               {"backend": b"jax", "keras_version": b"3.3.3"})
    layers = keras2_layers(w, False)
    layers = [(n, ws) for n, ws in layers if n not in ("gru2", "output")]
    weights_only(add("bad_ends_early", "bad:layers end after 'gru1'"), layers, {"backend": b"tensorflow",
                                                                               "keras_version": b"2.0.8"})
    with h5py.File(add("bad_missing_dataset", "bad:no such dataset"), "w") as f:
        layers = keras1_layers(w, False, "th")
        write_layers(f, layers)
        del f["conv2"][dict(layers)["conv2"][0][0]]
    with h5py.File(add("bad_not_keras", "bad:not a Keras weights file"), "w") as f:
        f.create_dataset("x", data=np.zeros(3, np.float32))

    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
