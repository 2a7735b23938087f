using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Kiosk.Vision.Inference;

namespace Kiosk.Vision.Interop.OnnxRuntime;

/// <summary>Session settings: threads, graph optimization, memory arena, extra config entries.</summary>
public sealed record OrtSessionSettings
{
    /// <summary>Intra-op threads; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }
    public int InterOpThreads { get; init; } = 1;
    public GraphOptimizationLevel Optimization { get; init; } = GraphOptimizationLevel.All;
    public ExecutionMode ExecutionMode { get; init; } = ExecutionMode.Sequential;
    public bool CpuMemArena { get; init; } = true;
    /// <summary>Session config entries (e.g. "session.intra_op.allow_spinning" = "0" to save CPU when idle).</summary>
    public IReadOnlyDictionary<string, string> ConfigEntries { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The process-wide OrtEnv. ONNX Runtime allows one per process; it lives until the process exits.
/// </summary>
public static unsafe class OrtEnvironment
{
    private static readonly Lazy<OrtEnvHandle> Env = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<OrtMemoryInfoHandle> CpuInfo = new(CreateCpuInfo, LazyThreadSafetyMode.ExecutionAndPublication);

    internal static OrtEnvHandle Handle => Env.Value;
    internal static OrtMemoryInfoHandle CpuMemory => CpuInfo.Value;

    private static OrtEnvHandle Create()
    {
        var api = OrtLibrary.Api;
        var h = new OrtEnvHandle();
        nint p;
        fixed (byte* id = "kiosk\0"u8)
            OrtLibrary.Check(api.CreateEnv(OrtLoggingLevel.Warning, id, &p));
        Marshal.InitHandle(h, p);
        return h;
    }

    private static OrtMemoryInfoHandle CreateCpuInfo()
    {
        var h = new OrtMemoryInfoHandle();
        nint p;
        OrtLibrary.Check(OrtLibrary.Api.CreateCpuMemoryInfo(OrtAllocatorType.Arena, OrtMemType.Default, &p));
        Marshal.InitHandle(h, p);
        return h;
    }
}

/// <summary>
/// A float tensor as an OrtValue over caller-owned memory. The memory stays pinned until the native value is
/// released (at disposal, or later if a <see cref="OrtSession.Binding"/> still uses it); ONNX Runtime reads and
/// writes it in place, so no copy is made per run.
/// </summary>
public sealed unsafe class OrtTensor : IDisposable
{
    internal OrtValueHandle Handle { get; }
    public long[] Shape { get; }
    public Memory<float> Memory { get; }
    public Span<float> Span => Memory.Span;

    private OrtTensor(OrtValueHandle handle, Memory<float> memory, long[] shape)
    {
        Handle = handle; Memory = memory; Shape = shape;
    }

    /// <summary>Wraps <paramref name="memory"/> (pinned here) as a tensor of <paramref name="shape"/>.</summary>
    public static OrtTensor Create(Memory<float> memory, ReadOnlySpan<long> shape)
    {
        long count = ElementCount(shape);
        if (count != memory.Length)
            throw new ArgumentException($"tensor shape [{string.Join(',', shape.ToArray())}] needs {count} floats, buffer has {memory.Length}");
        var pin = memory.Pin();
        var h = new OrtValueHandle();
        try
        {
            nint p;
            fixed (long* s = shape)
                OrtLibrary.Check(OrtLibrary.Api.CreateTensorWithDataAsOrtValue(OrtEnvironment.CpuMemory.DangerousGetHandle(),
                    pin.Pointer, (nuint)(memory.Length * sizeof(float)), s, (nuint)shape.Length, TensorElementType.Float, &p));
            h.Own(p, pin);
        }
        catch
        {
            pin.Dispose();
            h.Dispose();
            throw;
        }
        return new OrtTensor(h, memory, shape.ToArray());
    }

    /// <summary>Allocates a pinned buffer of the shape's size and wraps it.</summary>
    public static OrtTensor Allocate(ReadOnlySpan<long> shape) =>
        Create(GC.AllocateArray<float>(checked((int)ElementCount(shape)), pinned: true), shape);

    private static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor shape [{string.Join(',', shape.ToArray())}] has a negative dimension");
            count = checked(count * d);
        }
        return count;
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>
/// A loaded model. Metadata is read once. <see cref="Run"/> is thread-safe in ONNX Runtime, but tensors bound to
/// one caller's buffers must not be shared between threads.
/// </summary>
public sealed unsafe class OrtSession : IDisposable
{
    private readonly OrtSessionHandle _handle;
    public string ModelPath { get; }
    public IReadOnlyList<TensorInfo> Inputs { get; }
    public IReadOnlyList<TensorInfo> Outputs { get; }

    public OrtSession(string modelPath, OrtSessionSettings? settings = null)
    {
        settings ??= new OrtSessionSettings();
        ModelPath = modelPath;
        var api = OrtLibrary.Api;
        using var options = CreateOptions(api, settings);
        _handle = new OrtSessionHandle();
        nint p;
        byte[] path = NullTerminated(modelPath);
        fixed (byte* pp = path)
            OrtLibrary.Check(api.CreateSession(OrtEnvironment.Handle.DangerousGetHandle(), pp, options.DangerousGetHandle(), &p));
        Marshal.InitHandle(_handle, p);
        try
        {
            Inputs = ReadInfos(api, isInput: true);
            Outputs = ReadInfos(api, isInput: false);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    internal nint DangerousHandle => _handle.DangerousGetHandle();

    private static OrtSessionOptionsHandle CreateOptions(OrtApi api, OrtSessionSettings s)
    {
        var h = new OrtSessionOptionsHandle();
        nint p;
        OrtLibrary.Check(api.CreateSessionOptions(&p));
        Marshal.InitHandle(h, p);
        try
        {
            OrtLibrary.Check(api.SetIntraOpNumThreads(p, s.IntraOpThreads));
            OrtLibrary.Check(api.SetInterOpNumThreads(p, s.InterOpThreads));
            OrtLibrary.Check(api.SetSessionGraphOptimizationLevel(p, s.Optimization));
            OrtLibrary.Check(api.SetSessionExecutionMode(p, s.ExecutionMode));
            OrtLibrary.Check(s.CpuMemArena ? api.EnableCpuMemArena(p) : api.DisableCpuMemArena(p));
            foreach (var (key, value) in s.ConfigEntries)
            {
                fixed (byte* k = NullTerminated(key))
                fixed (byte* v = NullTerminated(value))
                    OrtLibrary.Check(api.AddSessionConfigEntry(p, k, v));
            }
        }
        catch
        {
            h.Dispose();
            throw;
        }
        return h;
    }

    private TensorInfo[] ReadInfos(OrtApi api, bool isInput)
    {
        nint session = _handle.DangerousGetHandle();
        nuint count;
        OrtLibrary.Check(isInput ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count));
        nint allocator;
        OrtLibrary.Check(api.GetAllocatorWithDefaultOptions(&allocator)); // borrowed
        var result = new TensorInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* namePtr;
            OrtLibrary.Check(isInput ? api.SessionGetInputName(session, i, allocator, &namePtr)
                                     : api.SessionGetOutputName(session, i, allocator, &namePtr));
            string name;
            try { name = Marshal.PtrToStringUTF8((nint)namePtr) ?? ""; }
            finally { OrtLibrary.Check(api.AllocatorFree(allocator, namePtr)); }

            using var typeInfo = new OrtTypeInfoHandle();
            nint ti;
            OrtLibrary.Check(isInput ? api.SessionGetInputTypeInfo(session, i, &ti) : api.SessionGetOutputTypeInfo(session, i, &ti));
            Marshal.InitHandle(typeInfo, ti);
            OnnxType kind;
            OrtLibrary.Check(api.GetOnnxTypeFromTypeInfo(ti, &kind));
            if (kind != OnnxType.Tensor)
            {
                result[i] = new TensorInfo(name, TensorElementType.Undefined, [], []);
                continue;
            }
            nint tensorInfo; // borrowed from the type info
            OrtLibrary.Check(api.CastTypeInfoToTensorInfo(ti, &tensorInfo));
            TensorElementType type;
            OrtLibrary.Check(api.GetTensorElementType(tensorInfo, &type));
            nuint rank;
            OrtLibrary.Check(api.GetDimensionsCount(tensorInfo, &rank));
            var dims = new long[(int)rank];
            var symbolic = new string?[(int)rank];
            if (rank > 0)
            {
                var syms = new nint[(int)rank];
                fixed (long* d = dims)
                    OrtLibrary.Check(api.GetDimensions(tensorInfo, d, rank));
                fixed (nint* sp = syms)
                    OrtLibrary.Check(api.GetSymbolicDimensions(tensorInfo, (byte**)sp, rank));
                for (int k = 0; k < syms.Length; k++)
                {
                    string? sym = syms[k] == 0 ? null : Marshal.PtrToStringUTF8(syms[k]);
                    symbolic[k] = string.IsNullOrEmpty(sym) ? null : sym;
                }
            }
            result[i] = new TensorInfo(name, type, dims, symbolic);
        }
        return result;
    }

    /// <summary>
    /// Runs the model on caller-bound tensors (outputs are written in place). Allocates only for the name
    /// arrays; the hot path uses <see cref="Binding"/>.
    /// </summary>
    public void Run(ReadOnlySpan<string> inputNames, ReadOnlySpan<OrtTensor> inputs,
                    ReadOnlySpan<string> outputNames, ReadOnlySpan<OrtTensor> outputs)
    {
        using var binding = new Binding(this, inputNames, inputs, outputNames, outputs);
        binding.Run();
    }

    public void Dispose() => _handle.Dispose();

    internal static byte[] NullTerminated(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <summary>
    /// Input and output names and tensors fixed once, kept as native arrays, so that each <see cref="Run"/> is a
    /// single native call with no managed allocation.
    /// </summary>
    public sealed class Binding : IDisposable
    {
        private readonly OrtSession _session;
        private readonly SafeHandle[] _held;
        private readonly nint* _block;      // [in names | in values | out names | out values]
        private readonly int _nIn, _nOut;
        private bool _disposed;

        public Binding(OrtSession session, ReadOnlySpan<string> inputNames, ReadOnlySpan<OrtTensor> inputs,
                       ReadOnlySpan<string> outputNames, ReadOnlySpan<OrtTensor> outputs)
        {
            if (inputNames.Length != inputs.Length || outputNames.Length != outputs.Length)
                throw new ArgumentException("names and tensors differ in count");
            _session = session;
            _nIn = inputs.Length; _nOut = outputs.Length;
            _block = (nint*)NativeMemory.AllocZeroed((nuint)(2 * (_nIn + _nOut)), (nuint)sizeof(nint));
            _held = new SafeHandle[_nIn + _nOut + 1];
            int held = 0;
            try
            {
                bool ok = false;
                session._handle.DangerousAddRef(ref ok);
                _held[held++] = session._handle;
                for (int i = 0; i < _nIn; i++)
                {
                    _block[i] = StringToNative(inputNames[i]);
                    inputs[i].Handle.DangerousAddRef(ref ok);
                    _held[held++] = inputs[i].Handle;
                    _block[_nIn + i] = inputs[i].Handle.DangerousGetHandle();
                }
                int o = 2 * _nIn;
                for (int i = 0; i < _nOut; i++)
                {
                    _block[o + i] = StringToNative(outputNames[i]);
                    outputs[i].Handle.DangerousAddRef(ref ok);
                    _held[held++] = outputs[i].Handle;
                    _block[o + _nOut + i] = outputs[i].Handle.DangerousGetHandle();
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private static nint StringToNative(string s)
        {
            byte[] b = NullTerminated(s);
            var p = (byte*)NativeMemory.Alloc((nuint)b.Length);
            b.CopyTo(new Span<byte>(p, b.Length));
            return (nint)p;
        }

        public void Run()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int o = 2 * _nIn;
            nint outValues = (nint)(_block + o + _nOut);
            // ORT writes into the preallocated output values; their pointers do not change.
            OrtLibrary.Check(OrtLibrary.Api.Run(_session._handle.DangerousGetHandle(), 0,
                _block, _block + _nIn, (nuint)_nIn, _block + o, (nuint)_nOut, (nint*)outValues));
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_block != null)
            {
                for (int i = 0; i < _nIn; i++) NativeMemory.Free((void*)_block[i]);
                for (int i = 0; i < _nOut; i++) NativeMemory.Free((void*)_block[2 * _nIn + i]);
                NativeMemory.Free(_block);
            }
            foreach (var h in _held) h?.DangerousRelease();
        }
    }
}
