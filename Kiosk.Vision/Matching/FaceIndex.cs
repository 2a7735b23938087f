using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Kiosk.Vision.Matching;

/// <summary>
/// In-memory 1:N face index: templates (unit vectors) of persons, searched by exhaustive dot product for the best
/// distinct persons.
/// </summary>
/// <remarks>
/// <para>Storage: one contiguous row-major buffer, each row padded to 64 bytes and 64-byte aligned, grown by
/// doubling; parallel arrays of (person, template) ids and dense person slots. Removal moves the last row into the
/// hole (O(1)); removing a person scans the slot column once. A search streams the whole buffer once, in order
/// (see <see cref="ScoreKernels"/>), so its time is the time to read the buffer from memory: Float16 halves it,
/// Int8 quarters it. It then keeps each person's best row and selects the top k persons, O(templates + persons).</para>
/// <para>Thread safety: any number of <see cref="Search"/> calls may run at once; <see cref="Add"/>,
/// <see cref="RemoveTemplate"/>, <see cref="RemovePerson"/> and <see cref="Clear"/> take the index exclusively
/// (a <see cref="ReaderWriterLockSlim"/>: the camera loop searches all the time, enrolment writes rarely, and a
/// writer waits for running searches to finish). Per-search scratch comes from a small pool the index owns and from
/// the stack, so a search allocates nothing once the pool holds scratch of the gallery's size.</para>
/// <para>The lock is never disposed: the index lives as long as the process, and the lock's wait events exist
/// only after contention and are finalizable.</para>
/// </remarks>
public sealed class FaceIndex
{
    /// <summary>Rows scored per kernel call: their scores fit a 1 KB stack buffer and are merged while in L1.</summary>
    private const int BlockRows = 256;

    /// <summary>How far from 1 the norm of an added vector may be.</summary>
    public const float UnitTolerance = 1e-3f;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly ScoreKernels.Isa _isa;
    private readonly int _stride;

    // Exactly one store is used, by precision. Float16 rows are Half bits (shorts): the kernel widens them itself.
    private readonly RowStore<float>? _f32;
    private readonly RowStore<short>? _f16;
    private readonly RowStore<sbyte>? _i8;
    private float[] _scales = [];               // Int8: per row, value = q * scale
    private RowId[] _ids = [];
    private int[] _rowSlot = [];                // person slot of each row
    private int _count;

    private readonly Dictionary<long, int> _rowOfTemplate = [];
    private readonly Dictionary<long, int> _slotOfPerson = [];
    private long[] _slotPerson = [];
    private int[] _slotRows = [];               // templates per slot; 0 = free
    private readonly Stack<int> _freeSlots = new();
    private int _slotEnd;                        // slots ever used: [0, _slotEnd)

    private readonly float[] _addScratch;        // Add's normalized, padded copy (under the write lock)

    private readonly record struct RowId(long PersonId, long TemplateId);

    public FaceIndex(int dimension, VectorPrecision precision = VectorPrecision.Float32, int initialCapacity = 1024)
        : this(dimension, precision, initialCapacity, ScoreKernels.Best)
    {
    }

    /// <summary>For tests: the index on a given kernel variant.</summary>
    internal FaceIndex(int dimension, VectorPrecision precision, int initialCapacity, ScoreKernels.Isa isa)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        Dimension = dimension;
        Precision = precision;
        _isa = isa;
        switch (precision)
        {
            case VectorPrecision.Float32: _f32 = new RowStore<float>(_stride = ScoreKernels.Stride(dimension, sizeof(float))); break;
            case VectorPrecision.Float16: _f16 = new RowStore<short>(_stride = ScoreKernels.Stride(dimension, sizeof(short))); break;
            case VectorPrecision.Int8: _i8 = new RowStore<sbyte>(_stride = ScoreKernels.Stride(dimension, sizeof(sbyte))); break;
            default: throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision");
        }
        _addScratch = new float[_stride];
        if (initialCapacity > 0) Grow(initialCapacity);
    }

    public int Dimension { get; }

    public VectorPrecision Precision { get; }

    /// <summary>Templates in the index.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Distinct persons in the index.</summary>
    public int PersonCount
    {
        get
        {
            _lock.EnterReadLock();
            try { return _slotOfPerson.Count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>
    /// Bytes held by the vector buffer (its whole capacity, padding included), the per-row ids, slots and scales and
    /// the per-person slot arrays. The two id dictionaries are not counted.
    /// </summary>
    public long MemoryBytes
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                long vectors = _f32?.Bytes ?? _f16?.Bytes ?? _i8!.Bytes;
                return vectors + (long)_ids.Length * 16 + (long)_rowSlot.Length * sizeof(int) + (long)_scales.Length * sizeof(float)
                    + (long)_slotPerson.Length * sizeof(long) + (long)_slotRows.Length * sizeof(int);
            }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>
    /// The bytes a search streams (the stored rows, padding included), for the benchmark's plain-read baseline.
    /// Valid until the next write.
    /// </summary>
    internal ReadOnlySpan<byte> StoredBytes => _f32 is not null ? MemoryMarshal.AsBytes(_f32.Rows(0, _count))
        : _f16 is not null ? MemoryMarshal.AsBytes(_f16.Rows(0, _count)) : MemoryMarshal.AsBytes(_i8!.Rows(0, _count));

    /// <summary>Row capacity of the vector buffer.</summary>
    internal int Capacity => _f32?.Capacity ?? _f16?.Capacity ?? _i8!.Capacity;

    /// <summary>
    /// Adds a template of a person. <paramref name="unitVector"/> must have <see cref="Dimension"/> components and
    /// unit length within <see cref="UnitTolerance"/>; it is re-normalized before it is stored.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length, not unit length, or <paramref name="templateId"/> already present.</exception>
    /// <exception cref="InvalidOperationException">The buffer would exceed the largest .NET array (about 4 million templates of 512 dimensions).</exception>
    public void Add(long personId, long templateId, ReadOnlySpan<float> unitVector)
    {
        if (unitVector.Length != Dimension)
            throw new ArgumentException($"the vector has {unitVector.Length} components, the index {Dimension}", nameof(unitVector));
        float norm = TensorPrimitives.Norm(unitVector);
        if (!(MathF.Abs(norm - 1f) <= UnitTolerance))
            throw new ArgumentException($"the vector's length is {norm}, not 1: L2-normalize it first", nameof(unitVector));

        _lock.EnterWriteLock();
        try
        {
            if (_rowOfTemplate.ContainsKey(templateId))
                throw new ArgumentException($"template {templateId} is already in the index", nameof(templateId));
            if (_count == Capacity) Grow(_count + 1);
            int row = _count;
            WriteRow(row, unitVector, norm);
            if (!_slotOfPerson.TryGetValue(personId, out int slot)) slot = NewSlot(personId);
            _ids[row] = new RowId(personId, templateId);
            _rowSlot[row] = slot;
            _slotRows[slot]++;
            _rowOfTemplate.Add(templateId, row);
            Volatile.Write(ref _count, row + 1);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Whether the person has at least one template in the index.</summary>
    public bool HasPerson(long personId)
    {
        _lock.EnterReadLock();
        try
        {
            return _slotOfPerson.TryGetValue(personId, out int slot) && _slotRows[slot] > 0;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Removes one template; false when it is not in the index.</summary>
    public bool RemoveTemplate(long templateId)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rowOfTemplate.Remove(templateId, out int row)) return false;
            RemoveRow(row);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes every template of a person; returns how many (0 when the person is not in the index).</summary>
    public int RemovePerson(long personId)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_slotOfPerson.TryGetValue(personId, out int slot)) return 0;
            // A scan of the slot column (4 bytes a row) rather than a template list per person: removal is rare.
            // From the end: the row moved into a hole comes from behind the scan and is already known not to match.
            int remaining = _slotRows[slot], removed = 0;
            for (int row = _count - 1; row >= 0 && removed < remaining; row--)
            {
                if (_rowSlot[row] != slot) continue;
                _rowOfTemplate.Remove(_ids[row].TemplateId);
                RemoveRow(row);
                removed++;
            }
            return removed;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes everything; the buffers keep their capacity for the next load.</summary>
    public void Clear()
    {
        _lock.EnterWriteLock();
        try
        {
            Volatile.Write(ref _count, 0);
            _rowOfTemplate.Clear();
            _slotOfPerson.Clear();
            _freeSlots.Clear();
            _slotEnd = 0;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Top-k distinct persons, each with its best-scoring template, best first; returns how many were written
    /// (at most <c>results.Length</c> and <see cref="PersonCount"/>). k is <c>results.Length</c>.
    /// </summary>
    /// <param name="query">A vector of <see cref="Dimension"/> components; normalized here, so any non-zero length will do.</param>
    /// <remarks>
    /// Ties are broken by the lower template id within a person and the lower person id between persons, so results
    /// do not depend on insertion or removal order.
    /// </remarks>
    /// <exception cref="ArgumentException">Wrong length, or a zero or non-finite query.</exception>
    public int Search(ReadOnlySpan<float> query, Span<Match> results)
    {
        if (query.Length != Dimension)
            throw new ArgumentException($"the query has {query.Length} components, the index {Dimension}", nameof(query));
        float norm = TensorPrimitives.Norm(query);
        if (!(norm > 0f && float.IsFinite(norm)))
            throw new ArgumentException($"the query's length is {norm}: it must be finite and non-zero", nameof(query));
        if (results.IsEmpty) return 0;

        var scratch = RentScratch();
        _lock.EnterReadLock();
        try
        {
            int count = _count, slots = _slotEnd;
            if (count == 0) return 0;
            scratch.Fit(slots);

            var q = scratch.Query.AsSpan();
            q[Dimension..].Clear();
            TensorPrimitives.Divide(query, norm, q[..Dimension]);
            float queryScale = 1f;
            if (Precision == VectorPrecision.Float16) TensorPrimitives.Multiply(q, ScoreKernels.HalfQueryScale, q);
            else if (Precision == VectorPrecision.Int8) queryScale = scratch.PrepareInt8(q);

            var bestScore = scratch.BestScore.AsSpan(0, slots);
            bestScore.Fill(float.NegativeInfinity); // free slots keep it and are skipped below
            Span<float> block = stackalloc float[BlockRows];
            for (int start = 0; start < count; start += BlockRows)
            {
                var scores = block[..Math.Min(BlockRows, count - start)];
                switch (Precision)
                {
                    case VectorPrecision.Float32:
                        ScoreKernels.Float32(_isa, _f32!.Rows(start, scores.Length), _stride, q, scores);
                        break;
                    case VectorPrecision.Float16:
                        ScoreKernels.Float16(_isa, _f16!.Rows(start, scores.Length), _stride, q, scores);
                        break;
                    default:
                        ScoreKernels.Int8(_isa, _i8!.Rows(start, scores.Length), _stride, _scales.AsSpan(start, scores.Length),
                            new ScoreKernels.Int8Query(scratch.Int8, scratch.Int8Magnitudes, scratch.Int8Wide, queryScale), scores);
                        break;
                }
                MergeBlock(start, scores, bestScore, scratch.BestRow);
            }
            return SelectTop(bestScore, scratch.BestRow, results);
        }
        finally
        {
            _lock.ExitReadLock();
            ReturnScratch(scratch);
        }
    }

    /// <summary>One search's working memory: the prepared query and each person slot's best score and row.</summary>
    private sealed class Scratch(int stride)
    {
        public readonly float[] Query = new float[stride];
        public readonly sbyte[] Int8 = new sbyte[stride];
        public readonly byte[] Int8Magnitudes = new byte[stride];
        public readonly short[] Int8Wide = new short[stride];
        public float[] BestScore = [];
        public int[] BestRow = [];

        /// <summary>Quantizes the normalized query into the int8 kernels' three forms; returns its scale.</summary>
        public float PrepareInt8(ReadOnlySpan<float> query)
        {
            float scale = Quantize(query, Int8);
            for (int i = 0; i < Int8.Length; i++)
            {
                Int8Magnitudes[i] = (byte)Math.Abs(Int8[i]);
                Int8Wide[i] = Int8[i];
            }
            return scale;
        }

        public void Fit(int slots)
        {
            if (BestScore.Length >= slots) return;
            int size = Math.Max(slots, 2 * BestScore.Length); // the gallery grows by doubling too
            BestScore = new float[size];
            BestRow = new int[size];
        }
    }

    /// <summary>
    /// Scratch sets for this many concurrent searches are kept; more searches at once allocate. The index owns them
    /// (unlike <see cref="System.Buffers.ArrayPool{T}.Shared"/>, which drops arrays at gen2 collections), so after the first searches
    /// no search allocates.
    /// </summary>
    private readonly Scratch?[] _scratch = new Scratch?[8];

    private Scratch RentScratch()
    {
        for (int i = 0; i < _scratch.Length; i++)
            if (Interlocked.Exchange(ref _scratch[i], null) is { } s) return s;
        return new Scratch(_stride);
    }

    private void ReturnScratch(Scratch s)
    {
        for (int i = 0; i < _scratch.Length; i++)
            if (Interlocked.CompareExchange(ref _scratch[i], s, null) is null) return;
    }

    /// <summary>Keeps each person's best row of the block (ties: the lower template id).</summary>
    private void MergeBlock(int start, ReadOnlySpan<float> scores, Span<float> bestScore, int[] bestRow)
    {
        var slots = _rowSlot.AsSpan(start, scores.Length);
        for (int i = 0; i < scores.Length; i++)
        {
            int slot = slots[i];
            float s = scores[i], b = bestScore[slot];
            if (s > b || (s == b && _ids[start + i].TemplateId < _ids[bestRow[slot]].TemplateId))
            {
                bestScore[slot] = s;
                bestRow[slot] = start + i;
            }
        }
    }

    /// <summary>
    /// The best <c>results.Length</c> persons: a heap of the k best seen so far, its worst at the root, kept in
    /// <paramref name="results"/> itself, then sorted in place by popping. O(persons * log k), no scratch.
    /// </summary>
    private int SelectTop(ReadOnlySpan<float> bestScore, int[] bestRow, Span<Match> results)
    {
        int k = results.Length, n = 0;
        for (int slot = 0; slot < bestScore.Length; slot++)
        {
            float s = bestScore[slot];
            if (float.IsNegativeInfinity(s)) continue;
            long person = _slotPerson[slot];
            if (n < k)
            {
                results[n] = new Match(person, _ids[bestRow[slot]].TemplateId, s);
                SiftUp(results, n++);
            }
            else if (s > results[0].Score || (s == results[0].Score && person < results[0].PersonId))
            {
                results[0] = new Match(person, _ids[bestRow[slot]].TemplateId, s);
                SiftDown(results, 0, k);
            }
        }
        for (int end = n - 1; end > 0; end--)
        {
            (results[0], results[end]) = (results[end], results[0]);
            SiftDown(results, 0, end);
        }
        return n;
    }

    /// <summary>a ranks below b: lower score, or the same score and a higher person id.</summary>
    private static bool Worse(in Match a, in Match b) => a.Score < b.Score || (a.Score == b.Score && a.PersonId > b.PersonId);

    private static void SiftUp(Span<Match> heap, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Worse(heap[i], heap[parent])) return;
            (heap[i], heap[parent]) = (heap[parent], heap[i]);
            i = parent;
        }
    }

    private static void SiftDown(Span<Match> heap, int i, int n)
    {
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) return;
            if (child + 1 < n && Worse(heap[child + 1], heap[child])) child++;
            if (!Worse(heap[child], heap[i])) return;
            (heap[i], heap[child]) = (heap[child], heap[i]);
            i = child;
        }
    }

    /// <summary>Symmetric int8 quantization: q = round(v / max|v| * 127); returns the scale, v ≈ q * scale.</summary>
    internal static float Quantize(ReadOnlySpan<float> v, Span<sbyte> q)
    {
        float max = MathF.Abs(TensorPrimitives.MaxMagnitude(v));
        float f = max > 0 ? 127f / max : 0f;
        for (int i = 0; i < v.Length; i++) q[i] = (sbyte)Math.Clamp(MathF.Round(v[i] * f), -127f, 127f);
        return max / 127f;
    }

    private void WriteRow(int row, ReadOnlySpan<float> vector, float norm)
    {
        var v = _addScratch.AsSpan();
        v[Dimension..].Clear();
        TensorPrimitives.Divide(vector, norm, v[..Dimension]);
        switch (Precision)
        {
            case VectorPrecision.Float32:
                v.CopyTo(_f32!.Row(row));
                break;
            case VectorPrecision.Float16:
                var h = _f16!.Row(row);
                TensorPrimitives.ConvertToHalf(v, MemoryMarshal.Cast<short, Half>(h));
                // Subnormal halves (|v| < 6.1e-5) become zero: the kernel's widening trick would make them denormal
                // floats, slow on some x86 cores. The error is below the half's own rounding step at 0.04.
                for (int i = 0; i < h.Length; i++)
                    if ((h[i] & 0x7C00) == 0) h[i] = 0;
                break;
            default:
                _scales[row] = Quantize(v, _i8!.Row(row));
                break;
        }
    }

    private void RemoveRow(int row)
    {
        int slot = _rowSlot[row], last = _count - 1;
        if (row != last)
        {
            _f32?.Move(last, row);
            _f16?.Move(last, row);
            _i8?.Move(last, row);
            if (_i8 is not null) _scales[row] = _scales[last];
            _ids[row] = _ids[last];
            _rowSlot[row] = _rowSlot[last];
            _rowOfTemplate[_ids[row].TemplateId] = row;
        }
        Volatile.Write(ref _count, last);
        if (--_slotRows[slot] == 0)
        {
            _slotOfPerson.Remove(_slotPerson[slot]);
            _freeSlots.Push(slot);
        }
    }

    private int NewSlot(long personId)
    {
        if (!_freeSlots.TryPop(out int slot))
        {
            slot = _slotEnd++;
            if (slot == _slotPerson.Length)
            {
                int size = Math.Max(16, 2 * _slotPerson.Length);
                Array.Resize(ref _slotPerson, size);
                Array.Resize(ref _slotRows, size);
            }
        }
        _slotPerson[slot] = personId;
        _slotRows[slot] = 0;
        _slotOfPerson.Add(personId, slot);
        return slot;
    }

    private void Grow(int needed)
    {
        int max = (_f32 is not null ? _f32.MaxRows : _f16 is not null ? _f16.MaxRows : _i8!.MaxRows);
        if (needed > max)
            throw new InvalidOperationException($"the index holds at most {max} templates of dimension {Dimension} at {Precision}");
        int capacity = (int)Math.Min(max, Math.Max(needed, 2L * Capacity));
        _f32?.Resize(capacity, _count);
        _f16?.Resize(capacity, _count);
        _i8?.Resize(capacity, _count);
        if (_i8 is not null) Array.Resize(ref _scales, capacity);
        Array.Resize(ref _ids, capacity);
        Array.Resize(ref _rowSlot, capacity);
    }
}
