using System.Globalization;
using System.Runtime.InteropServices;
using Kiosk.Vision.Inference;

namespace Kiosk.Vision.Interop.OpenVino;

/// <summary>
/// One model read, reshaped to batch 1, pre/post-processed to f32 at every input and output, compiled for one device,
/// with one infer request whose inputs are tensors over this object's pinned float buffers (set once). Not
/// thread-safe: the buffers and the request belong to the instance.
/// </summary>
/// <remarks>
/// Outputs are copied from the request's own output tensors after each inference rather than bound to our buffers
/// with ov_infer_request_set_output_tensor: binding caller memory as output is what the CPU plugin honours, but for
/// remote devices (GPU, MYRIAD, NPU) and the AUTO/MULTI/HETERO schedulers the plugin may write its own tensor and
/// copy, or (AUTO) hand the request to another device's request; reading the tensor the request reports after each run
/// is valid for every device. The copy is of the output size (a few KiB for the face models); no managed allocation.
/// </remarks>
internal sealed unsafe class OvInferSession : IDisposable
{
    private readonly OvCompiledModelHandle _compiled;
    private readonly OvInferRequestHandle _request;
    private readonly OvTensorHandle[] _inputTensors;
    private readonly float[][] _inputs;   // pinned (pinned object heap): the input tensors point into them
    private readonly float[][] _outputs;
    private readonly nuint[] _outputBytes;
    private bool _disposed;

    public IReadOnlyList<TensorInfo> Inputs { get; }
    public IReadOnlyList<TensorInfo> Outputs { get; }

    public OvInferSession(string modelName, string path, string device, int threads)
    {
        var api = OvLibrary.Api;
        var numbering = OvLibrary.Numbering;
        nint core = OvCore.Handle.DangerousGetHandle();
        OvCompiledModelHandle? compiled = null;
        OvInferRequestHandle? request = null;
        var tensors = new List<OvTensorHandle>();
        try
        {
            var model = ReadModel(api, core, path);
            try
            {
                ReshapeToBatchOne(api, numbering, modelName, model);
                var processed = ToFloat(api, numbering, modelName, model);
                model.Dispose();
                model = processed;
                compiled = Compile(api, core, model, device, threads);
            }
            finally
            {
                model.Dispose(); // the compiled model does not need it
            }
            uint f32 = OvElementTypes.F32(numbering);
            Inputs = ReadPorts(api, numbering, compiled, isInput: true, f32);
            Outputs = ReadPorts(api, numbering, compiled, isInput: false, f32);

            request = new OvInferRequestHandle();
            nint r;
            OvLibrary.Check(api.ov_compiled_model_create_infer_request(compiled.DangerousGetHandle(), &r), "ov_compiled_model_create_infer_request");
            Marshal.InitHandle(request, r);

            _inputs = new float[Inputs.Count][];
            for (int i = 0; i < Inputs.Count; i++)
            {
                var shape = Inputs[i].Shape;
                _inputs[i] = GC.AllocateArray<float>(checked((int)ElementCount(shape)), pinned: true);
                var tensor = CreateHostTensor(api, f32, shape, _inputs[i]);
                tensors.Add(tensor);
                OvLibrary.Check(api.ov_infer_request_set_input_tensor_by_index(r, (nuint)i, tensor.DangerousGetHandle()),
                    "ov_infer_request_set_input_tensor_by_index");
            }
            _outputs = new float[Outputs.Count][];
            _outputBytes = new nuint[Outputs.Count];
            for (int i = 0; i < Outputs.Count; i++)
            {
                _outputs[i] = new float[checked((int)ElementCount(Outputs[i].Shape))];
                _outputBytes[i] = (nuint)_outputs[i].Length * sizeof(float);
            }
        }
        catch
        {
            for (int i = tensors.Count - 1; i >= 0; i--) tensors[i].Dispose();
            request?.Dispose();
            compiled?.Dispose();
            throw;
        }
        _inputTensors = tensors.ToArray();
        _request = request;
        _compiled = compiled;
    }

    public Span<float> Input(int index) => _inputs[index];
    public ReadOnlySpan<float> Output(int index) => _outputs[index];

    /// <summary>Runs one inference on the input buffers and copies every output into its buffer.</summary>
    public void Run()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var api = OvLibrary.Api;
        nint request = _request.DangerousGetHandle();
        OvLibrary.Check(api.ov_infer_request_infer(request), "ov_infer_request_infer");
        for (int i = 0; i < _outputs.Length; i++)
        {
            nint tensor;
            OvLibrary.Check(api.ov_infer_request_get_output_tensor_by_index(request, (nuint)i, &tensor), "ov_infer_request_get_output_tensor_by_index");
            try
            {
                void* data;
                nuint bytes;
                OvLibrary.Check(api.ov_tensor_get_byte_size(tensor, &bytes), "ov_tensor_get_byte_size");
                if (bytes != _outputBytes[i]) ThrowOutputSize(i, bytes);
                OvLibrary.Check(api.ov_tensor_data(tensor, &data), "ov_tensor_data"); // borrowed from the request
                new ReadOnlySpan<float>(data, _outputs[i].Length).CopyTo(_outputs[i]);
            }
            finally
            {
                api.ov_tensor_free(tensor); // the wrapper get_output_tensor made, not the request's tensor
            }
        }
    }

    private void ThrowOutputSize(int index, nuint bytes) =>
        throw new Kiosk.Vision.Inference.ModelSpecMismatchException(
            $"OpenVINO output '{Outputs[index].Name}' has {bytes} bytes after inference, {_outputBytes[index]} expected for f32[{Outputs[index].ShapeText}]");

    /// <summary>Frees the input tensors, the request and the compiled model, in reverse order of creation, once.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = _inputTensors.Length - 1; i >= 0; i--) _inputTensors[i].Dispose();
        _request.Dispose();
        _compiled.Dispose();
    }

    private static OvModelHandle ReadModel(OvNative api, nint core, string path)
    {
        var h = new OvModelHandle();
        nint m;
        // bin_path NULL: an IR's weights are read from the .bin beside the .xml; ONNX has none.
        fixed (byte* p = OvCore.Utf8(path))
            OvLibrary.Check(api.ov_core_read_model(core, p, null, &m), "ov_core_read_model");
        Marshal.InitHandle(h, m);
        return h;
    }

    private static OvPortHandle ModelPort(OvNative api, OvModelHandle model, int index, bool isInput)
    {
        var h = new OvPortHandle();
        nint p;
        if (isInput)
            OvLibrary.Check(api.ov_model_const_input_by_index(model.DangerousGetHandle(), (nuint)index, &p), "ov_model_const_input_by_index");
        else
            OvLibrary.Check(api.ov_model_const_output_by_index(model.DangerousGetHandle(), (nuint)index, &p), "ov_model_const_output_by_index");
        Marshal.InitHandle(h, p);
        return h;
    }

    private static int ModelPortCount(OvNative api, OvModelHandle model, bool isInput)
    {
        nuint n;
        if (isInput) OvLibrary.Check(api.ov_model_inputs_size(model.DangerousGetHandle(), &n), "ov_model_inputs_size");
        else OvLibrary.Check(api.ov_model_outputs_size(model.DangerousGetHandle(), &n), "ov_model_outputs_size");
        return checked((int)n);
    }

    /// <summary>ov_port_get_any_name, or "" for a tensor without names (get_any_name throws for those).</summary>
    private static string PortName(OvNative api, OvPortHandle port)
    {
        byte* name = null;
        return api.ov_port_get_any_name(port.DangerousGetHandle(), &name) == OvStatus.Ok ? OvLibrary.TakeString(name) : "";
    }

    private static uint PortElementType(OvNative api, OvPortHandle port)
    {
        uint type;
        OvLibrary.Check(api.ov_port_get_element_type(port.DangerousGetHandle(), &type), "ov_port_get_element_type");
        return type;
    }

    private static void ExpectNumeric(string model, string what, string name, uint type, OvElementNumbering numbering)
    {
        string c = OvElementTypes.Name(type, numbering);
        if (c is "F16" or "BF16" or "F32" or "F64" or "I8" or "I16" or "I32" or "I64" or "U8" or "U16" or "U32" or "U64") return;
        throw new ModelSpecMismatchException($"Model '{model}': {what} '{name}' is {c}; only numeric tensors can be run as float");
    }

    /// <summary>
    /// A dynamic batch, or a static batch above 1, becomes 1 (the kiosk runs one face at a time); any other dynamic
    /// dimension is refused, as <see cref="OnnxRuntimeModel"/> refuses it.
    /// </summary>
    private static void ReshapeToBatchOne(OvNative api, OvElementNumbering numbering, string modelName, OvModelHandle model)
    {
        int count = ModelPortCount(api, model, isInput: true);
        var indexes = new List<nuint>();
        var shapes = new List<long[]>();
        for (int i = 0; i < count; i++)
        {
            using var port = ModelPort(api, model, i, isInput: true);
            string name = PortName(api, port);
            ExpectNumeric(modelName, "input", name, PortElementType(api, port), numbering);
            ov_partial_shape_t ps = default;
            OvLibrary.Check(api.ov_port_get_partial_shape(port.DangerousGetHandle(), &ps), "ov_port_get_partial_shape");
            long[] dims;
            try
            {
                if (!ps.rank.IsStatic)
                    throw new ModelSpecMismatchException($"Model '{modelName}': input '{name}' has a dynamic rank; give the model a fixed input shape");
                dims = new long[ps.rank.max];
                for (int d = 0; d < dims.Length; d++) dims[d] = ps.dims[d].IsStatic ? ps.dims[d].min : -1;
            }
            finally
            {
                api.ov_partial_shape_free(&ps);
            }
            bool changed = false;
            if (dims.Length > 0 && (dims[0] < 0 || (dims[0] > 1 && dims.Length >= 2)))
            {
                dims[0] = 1;
                changed = true;
            }
            for (int d = 1; d < dims.Length; d++)
                if (dims[d] < 0)
                    throw new ModelSpecMismatchException(
                        $"Model '{modelName}': input '{name}' has a dynamic dimension {d}; give the model fixed spatial sizes");
            if (changed) { indexes.Add((nuint)i); shapes.Add(dims); }
        }
        if (indexes.Count == 0) return;

        var partial = new ov_partial_shape_t[indexes.Count];
        int made = 0;
        try
        {
            for (; made < partial.Length; made++)
            {
                var dims = shapes[made].Select(v => new ov_dimension_t { min = v, max = v }).ToArray();
                fixed (ov_dimension_t* dp = dims)
                fixed (ov_partial_shape_t* pp = &partial[made])
                    OvLibrary.Check(api.ov_partial_shape_create(dims.Length, dp, pp), "ov_partial_shape_create");
            }
            var idx = indexes.ToArray();
            fixed (nuint* ip = idx)
            fixed (ov_partial_shape_t* pp = partial)
                OvLibrary.Check(api.ov_model_reshape_by_port_indexes(model.DangerousGetHandle(), ip, pp, (nuint)idx.Length),
                    "ov_model_reshape_by_port_indexes");
        }
        finally
        {
            for (int j = 0; j < made; j++)
                fixed (ov_partial_shape_t* pp = &partial[j])
                    api.ov_partial_shape_free(pp);
        }
    }

    /// <summary>A new model whose every input and output tensor is f32 (an FP16 or U8 IR gets converts inserted).</summary>
    private static OvModelHandle ToFloat(OvNative api, OvElementNumbering numbering, string modelName, OvModelHandle model)
    {
        uint f32 = OvElementTypes.F32(numbering);
        int inputs = ModelPortCount(api, model, isInput: true);
        int outputs = ModelPortCount(api, model, isInput: false);
        for (int i = 0; i < outputs; i++)
        {
            using var port = ModelPort(api, model, i, isInput: false);
            ExpectNumeric(modelName, "output", PortName(api, port), PortElementType(api, port), numbering);
        }
        using var ppp = new OvPrePostProcessorHandle();
        nint p;
        OvLibrary.Check(api.ov_preprocess_prepostprocessor_create(model.DangerousGetHandle(), &p), "ov_preprocess_prepostprocessor_create");
        Marshal.InitHandle(ppp, p);
        for (int i = 0; i < inputs; i++)
        {
            using var info = new OvPreprocessInputInfoHandle();
            nint ii;
            OvLibrary.Check(api.ov_preprocess_prepostprocessor_get_input_info_by_index(p, (nuint)i, &ii), "ov_preprocess_prepostprocessor_get_input_info_by_index");
            Marshal.InitHandle(info, ii);
            using var tensor = new OvPreprocessInputTensorInfoHandle();
            nint ti;
            OvLibrary.Check(api.ov_preprocess_input_info_get_tensor_info(ii, &ti), "ov_preprocess_input_info_get_tensor_info");
            Marshal.InitHandle(tensor, ti);
            OvLibrary.Check(api.ov_preprocess_input_tensor_info_set_element_type(ti, f32), "ov_preprocess_input_tensor_info_set_element_type");
        }
        for (int i = 0; i < outputs; i++)
        {
            using var info = new OvPreprocessOutputInfoHandle();
            nint oi;
            OvLibrary.Check(api.ov_preprocess_prepostprocessor_get_output_info_by_index(p, (nuint)i, &oi), "ov_preprocess_prepostprocessor_get_output_info_by_index");
            Marshal.InitHandle(info, oi);
            using var tensor = new OvPreprocessOutputTensorInfoHandle();
            nint ti;
            OvLibrary.Check(api.ov_preprocess_output_info_get_tensor_info(oi, &ti), "ov_preprocess_output_info_get_tensor_info");
            Marshal.InitHandle(tensor, ti);
            OvLibrary.Check(api.ov_preprocess_output_set_element_type(ti, f32), "ov_preprocess_output_set_element_type");
        }
        var built = new OvModelHandle();
        nint m;
        OvLibrary.Check(api.ov_preprocess_prepostprocessor_build(p, &m), "ov_preprocess_prepostprocessor_build");
        Marshal.InitHandle(built, m);
        return built;
    }

    /// <summary>
    /// Compiles with PERFORMANCE_HINT=LATENCY (not for HETERO, which takes per-device settings only) and, on "CPU",
    /// INFERENCE_NUM_THREADS when <paramref name="threads"/> &gt; 0. Values are strings: the C API passes them to the
    /// plugin as ov::Any strings, which every plugin parses.
    /// </summary>
    private static OvCompiledModelHandle Compile(OvNative api, nint core, OvModelHandle model, string device, int threads)
    {
        var props = new List<(byte[] Key, byte[] Value)>(2);
        if (device == "CPU" && threads > 0)
            props.Add((OvCore.Utf8("INFERENCE_NUM_THREADS"), OvCore.Utf8(threads.ToString(CultureInfo.InvariantCulture))));
        if (!device.StartsWith("HETERO", StringComparison.Ordinal))
            props.Add((OvCore.Utf8("PERFORMANCE_HINT"), OvCore.Utf8("LATENCY")));
        var h = new OvCompiledModelHandle();
        nint c;
        nint m = model.DangerousGetHandle();
        var none = Array.Empty<byte>();
        fixed (byte* d = OvCore.Utf8(device))
        fixed (byte* k1 = props.Count > 0 ? props[0].Key : none)
        fixed (byte* v1 = props.Count > 0 ? props[0].Value : none)
        fixed (byte* k2 = props.Count > 1 ? props[1].Key : none)
        fixed (byte* v2 = props.Count > 1 ? props[1].Value : none)
        {
            // property_args_size counts the variadic arguments: two per property (see OvNative).
            var status = props.Count switch
            {
                0 => api.ov_core_compile_model_0(core, m, d, 0, &c),
                1 => api.ov_core_compile_model_1(core, m, d, 2, &c, k1, v1),
                _ => api.ov_core_compile_model_2(core, m, d, 4, &c, k1, v1, k2, v2),
            };
            OvLibrary.Check(status, "ov_core_compile_model");
        }
        Marshal.InitHandle(h, c);
        return h;
    }

    private static TensorInfo[] ReadPorts(OvNative api, OvElementNumbering numbering, OvCompiledModelHandle compiled, bool isInput, uint f32)
    {
        nint cm = compiled.DangerousGetHandle();
        nuint count;
        if (isInput) OvLibrary.Check(api.ov_compiled_model_inputs_size(cm, &count), "ov_compiled_model_inputs_size");
        else OvLibrary.Check(api.ov_compiled_model_outputs_size(cm, &count), "ov_compiled_model_outputs_size");
        var result = new TensorInfo[(int)count];
        for (int i = 0; i < result.Length; i++)
        {
            using var port = new OvPortHandle();
            nint p;
            if (isInput) OvLibrary.Check(api.ov_compiled_model_input_by_index(cm, (nuint)i, &p), "ov_compiled_model_input_by_index");
            else OvLibrary.Check(api.ov_compiled_model_output_by_index(cm, (nuint)i, &p), "ov_compiled_model_output_by_index");
            Marshal.InitHandle(port, p);
            string name = PortName(api, port);
            uint type = PortElementType(api, port);
            if (type != f32)
                throw new Kiosk.Vision.Inference.ModelSpecMismatchException(
                    $"OpenVINO compiled {(isInput ? "input" : "output")} '{name}' as {OvElementTypes.Name(type, numbering)} although pre-processing asked for F32");
            ov_shape_t shape = default;
            OvLibrary.Check(api.ov_const_port_get_shape(p, &shape), "ov_const_port_get_shape");
            long[] dims;
            try { dims = new ReadOnlySpan<long>(shape.dims, (int)shape.rank).ToArray(); }
            finally { OvLibrary.Check(api.ov_shape_free(&shape), "ov_shape_free"); }
            result[i] = new TensorInfo(name, TensorElementType.Float, dims, new string?[dims.Length]);
        }
        return result;
    }

    private static OvTensorHandle CreateHostTensor(OvNative api, uint f32, long[] shape, float[] pinned)
    {
        var h = new OvTensorHandle();
        ov_shape_t s = default;
        fixed (long* d = shape)
            OvLibrary.Check(api.ov_shape_create(shape.Length, d, &s), "ov_shape_create");
        try
        {
            nint t;
            // The array is on the pinned object heap, so its address stays valid for the tensor's life.
            fixed (float* p = pinned)
                OvLibrary.Check(api.ov_tensor_create_from_host_ptr(f32, s, p, &t), "ov_tensor_create_from_host_ptr");
            h.Own(t);
        }
        finally
        {
            api.ov_shape_free(&s); // the tensor copied the shape
        }
        return h;
    }

    private static long ElementCount(long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }
}
