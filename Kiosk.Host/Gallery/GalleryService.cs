using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Matching;
using Kiosk.Vision.Models;

namespace Kiosk.Host.Gallery;

/// <summary>How people are recognised: the tiers' models, the false-match target, the margin, the quality floor.</summary>
public sealed record IdentificationSettings
{
    /// <summary>The model of the first tier (and of enrollment's first template).</summary>
    public EmbedderSpec Fast { get; init; } = ModelCatalog.Default;
    /// <summary>The model that re-checks doubtful cases; null: the fast model decides alone.</summary>
    public EmbedderSpec? Accurate { get; init; }
    /// <summary>Target chance that a stranger is taken for someone, per probe face, whatever the gallery size.</summary>
    public double FalseMatchRate { get; init; } = 1e-4;
    /// <summary>Least lead of the best person over the second (cosine similarity) for an accept.</summary>
    public float Margin { get; init; } = 0.05f;
    /// <summary>Faces below this quality are never identified (nor enrolled).</summary>
    public FaceQualityPolicy Quality { get; init; } = new();
    /// <summary>How the in-memory index holds vectors: Float16 halves memory and search time, Int8 quarters them.</summary>
    public VectorPrecision Precision { get; init; } = VectorPrecision.Float32;

    public void Validate()
    {
        Fast.Validate();
        Accurate?.Validate();
        if (Accurate is not null && string.Equals(Accurate.Name, Fast.Name, StringComparison.OrdinalIgnoreCase))
            throw new SettingsException($"Models:Accurate is the fast model '{Fast.Name}' itself; leave it empty for one tier");
        if (FalseMatchRate is <= 0 or >= 1) throw new SettingsException($"Identification:FalseMatchRate is {FalseMatchRate}; it must be between 0 and 1");
        if (Margin is < 0 or > 1) throw new SettingsException($"Identification:Margin is {Margin}; it must be 0..1 (cosine similarity)");
        Quality.Validate("Identification:Quality");
    }
}

/// <summary>
/// A photo offered for enrollment, by name (file path or message id) and pixels, or the reason it could not be read.
/// </summary>
public sealed record EnrollmentPhoto(string Source, BgrImage? Image, string? Unreadable = null);

/// <summary>What enrollment did: the person (null when no photo passed), and every photo's fate.</summary>
public sealed record EnrollmentResult(Person? Person, IReadOnlyList<string> Accepted, IReadOnlyList<(string Source, string Reason)> Rejected);

/// <summary>One face of a probe image: where, its quality verdict, the decision and the best candidates.</summary>
public sealed record FaceIdentification(FaceResult Face, string? QualityRejection, Identification? Decision, IReadOnlyList<Match> Candidates);

/// <summary>
/// The gallery at work: the encrypted store, the models of both tiers, one in-memory index per model kept in step
/// with the store, enrollment with its quality gate, identification, removal. Owns the store (disposes it).
/// Not thread-safe: one caller at a time.
/// </summary>
public sealed class GalleryService : IDisposable
{
    private readonly FaceEmbedder? _accurateEmbedder;
    private readonly string _fastHash, _accurateHash;
    private TwoTierIdentifier _identifier = null!;

    public GalleryStore Store { get; }
    /// <summary>
    /// Held by whoever runs the pipeline or changes the indexes while others may too: the camera loop for a frame,
    /// a remote command or the fleet sync for a change. The service itself is not thread-safe.
    /// </summary>
    public Lock SyncRoot { get; } = new();
    public FacePipeline Pipeline { get; }
    public IdentificationSettings Settings { get; }
    public FaceIndex FastIndex { get; }
    public FaceIndex? AccurateIndex { get; }
    /// <summary>The model hash stored with the fast tier's templates (see <see cref="ModelKey"/>): what a template made elsewhere must carry.</summary>
    public string FastModelKey => _fastHash;
    /// <summary>The same for the accurate tier; null without one.</summary>
    public string? AccurateModelKey => _accurateEmbedder is null ? null : _accurateHash;
    /// <summary>People with no template for a tier's model and no stored crop to make one from: they need new photos.</summary>
    public IReadOnlyList<Person> NeedNewPhotos { get; private set; } = [];
    /// <summary>Templates made from stored crops at start, after a model was installed or changed.</summary>
    public int ReEmbedded { get; private set; }
    /// <summary>Stored templates that could not be loaded (e.g. not a unit vector); reported, never fatal.</summary>
    public IReadOnlyList<string> Damaged => _damaged;
    private readonly List<string> _damaged = [];
    private readonly bool _reEmbed;
    private long _loadedRevision = -1;

    private readonly bool _keepCrops;

    /// <param name="keepCrops">Store each enrollment's face crop (encrypted) so a new model can re-embed without photos.</param>
    /// <param name="reEmbed">
    /// Make missing templates of a tier's model from stored crops (and store them). Off for read-only uses such as a
    /// one-off <c>identify --model X</c>, which must not write templates of X into the gallery.
    /// </param>
    public GalleryService(GalleryStore store, bool keepCrops, FacePipelineOptions pipeline, IdentificationSettings settings, bool reEmbed = true)
    {
        settings.Validate();
        Store = store;
        _keepCrops = keepCrops;
        _reEmbed = reEmbed;
        Settings = settings;
        Pipeline = new FacePipeline(pipeline with { Embedder = settings.Fast });
        try
        {
            _fastHash = ModelKey(settings.Fast);
            FastIndex = new FaceIndex(settings.Fast.OutputSize, settings.Precision);
            _accurateHash = "";
            if (settings.Accurate is not null)
            {
                _accurateEmbedder = new FaceEmbedder(settings.Accurate, pipeline.Inference);
                _accurateHash = ModelKey(settings.Accurate);
                AccurateIndex = new FaceIndex(settings.Accurate.OutputSize, settings.Precision);
            }
            Reload();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// What makes two templates comparable: the model's weights (<see cref="ModelFiles.ContentKey"/>) and a digest of how a face becomes its input
    /// (crop, size, layout, channels, normalization, output, flip). Same name, other pre-processing: other templates.
    /// </summary>
    internal static string ModelKey(EmbedderSpec spec)
    {
        string file = ModelFiles.ContentKey(spec);
        var n = spec.Normalization;
        string pre = string.Join("|", spec.Layout, spec.Width, spec.Height, spec.Channels, n.Kind,
            string.Join(",", n.Mean.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
            string.Join(",", n.Scale.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
            spec.Crop.Kind, spec.Crop.Margin.ToString("R", CultureInfo.InvariantCulture),
            string.Join(",", (spec.Crop.Template ?? []).Select(p => FormattableString.Invariant($"{p.X:R};{p.Y:R}"))),
            spec.OutputSize, spec.OutputName ?? "", spec.FlipAugment);
        string digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pre)))[..16];
        return $"{file}:{digest}";
    }

    /// <summary>
    /// Rebuilds the indexes from the store. People who lack a tier's templates but have stored crops are embedded
    /// now (a model was installed or changed); those without crops are listed in <see cref="NeedNewPhotos"/>.
    /// </summary>
    public void Reload()
    {
        ReEmbedded = 0;
        _damaged.Clear();
        var needPhotos = new Dictionary<long, Person>();
        LoadTier(Settings.Fast, _fastHash, FastIndex, Pipeline.Embedder, needPhotos);
        if (Settings.Accurate is not null) LoadTier(Settings.Accurate, _accurateHash, AccurateIndex!, _accurateEmbedder!, needPhotos);
        NeedNewPhotos = needPhotos.Values.OrderBy(p => p.Id).ToList();
        _identifier = new TwoTierIdentifier(FastIndex, AccurateIndex, Policy());
        _loadedRevision = Store.Revision;
    }

    /// <summary>
    /// Reloads when the store changed behind the service's back (another process: `kiosk people remove` beside the
    /// running service, an import): a removed or disabled person must stop matching. True when it reloaded.
    /// </summary>
    public bool RefreshIfChanged()
    {
        if (Store.Revision == _loadedRevision) return false;
        Reload();
        return true;
    }

    private void LoadTier(EmbedderSpec spec, string hash, FaceIndex index, FaceEmbedder embedder, Dictionary<long, Person> needPhotos)
    {
        index.Clear();
        var missing = Store.PeopleWithoutTemplatesFor(spec.Name, hash, withoutCrops: false);
        // Crops are decrypted only when someone needs them.
        var crops = missing.Count == 0 || !_reEmbed ? [] : Store.LoadCrops().GroupBy(c => c.PersonId).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var person in missing)
        {
            if (!crops.TryGetValue(person.Id, out var theirs)) { needPhotos[person.Id] = person; continue; }
            var quality = Store.TemplatesOf(person.Id).ToDictionary(t => t.Id, t => t.Quality);
            var drafts = theirs.Select(c =>
            {
                var crop = CanonicalCrop.FromArrays(c.Crop.Image, c.Crop.Points, c.Crop.Box);
                var v = new float[spec.OutputSize];
                crop.Embed(embedder, v);
                return new TemplateDraft(spec.Name, hash, v, quality.GetValueOrDefault(c.TemplateId), "re-embedded from stored crop", null);
            }).ToList();
            Store.AddTemplates(person.Id, drafts);
            ReEmbedded += drafts.Count;
        }
        var enabled = Store.ListPeople().Where(p => p.Enabled).Select(p => p.Id).ToHashSet();
        foreach (var t in Store.LoadTemplates(spec.Name, hash))
        {
            if (!enabled.Contains(t.PersonId)) continue;
            try
            {
                index.Add(t.PersonId, t.Id, t.Vector);
            }
            catch (ArgumentException e)
            {
                _damaged.Add($"template {t.Id} of person {t.PersonId} ({spec.Name}): {e.Message}");
            }
        }
    }

    /// <summary>The decision thresholds for the current gallery size (see <see cref="ThresholdCalibration"/>).</summary>
    public TwoTierPolicy Policy()
    {
        var fast = Settings.Fast;
        // A stranger is compared with every template (a person's score is their best template's): count templates.
        int people = Math.Max(1, FastIndex.Count);
        float t = ThresholdCalibration.ForGallery(fast.Threshold, fast.ImpostorMean, fast.ImpostorStd, people, Settings.FalseMatchRate);
        var fastPolicy = new OpenSetPolicy(t, Settings.Margin);
        var acc = Settings.Accurate ?? fast;
        float ta = ThresholdCalibration.ForGallery(acc.Threshold, acc.ImpostorMean, acc.ImpostorStd, people, Settings.FalseMatchRate);
        return new TwoTierPolicy(fastPolicy, Math.Max(-1, t - fast.GreyZone), Math.Min(1, t + fast.GreyZone), new OpenSetPolicy(ta, Settings.Margin));
    }

    /// <summary>
    /// Enrolls one person from photos: each photo passes the quality gate or is rejected with its reason. The person
    /// is stored, with a template per accepted photo and tier (and the face crop unless switched off), in one
    /// transaction, only if at least one photo passed: a rejected enrollment leaves nothing behind.
    /// </summary>
    /// <param name="uid">the new person's site-wide id, when the caller has one (see <see cref="GalleryStore.Enroll"/>)</param>
    /// <param name="readyTemplates">
    /// Templates made elsewhere (a remote enrollment), stored in the same transaction as the photos'. The caller has
    /// checked them (model, hash, length, duplicates). With them and no photo offered, the person is stored from them
    /// alone; photos offered that all fail still store nothing.
    /// </param>
    public EnrollmentResult Enroll(PersonDraft draft, IEnumerable<EnrollmentPhoto> photos, long? existingPersonId = null, string? uid = null,
        IReadOnlyList<TemplateDraft>? readyTemplates = null)
    {
        if (existingPersonId is null) GalleryValidation.Normalize(draft, nameof(draft)); // bad fields fail before any work
        var accepted = new List<string>();
        var rejected = new List<(string, string)>();
        var templates = new List<TemplateDraft>();
        var policy = Policy();
        Span<Match> top = stackalloc Match[1];
        int offered = 0;
        foreach (var photo in photos)
        {
            offered++;
            if (photo.Image is null) { rejected.Add((photo.Source, photo.Unreadable ?? "unreadable")); continue; }
            IReadOnlyList<FaceResult> faces;
            try
            {
                faces = Pipeline.Analyze(photo.Image);
            }
            catch (ArgumentException e)
            {
                rejected.Add((photo.Source, $"face geometry unusable: {e.Message}"));
                continue;
            }
            var verdict = EnrollmentGate.Check(faces, Settings.Quality);
            if (!verdict.Accepted) { rejected.Add((photo.Source, verdict.Rejection!)); continue; }
            var face = verdict.Face!;
            // Enrolling someone twice would make them ambiguous with themselves (no lead over the "other" person):
            // a face that already matches somebody else is refused.
            if (FastIndex.Search(face.Embedding, top) == 1 && top[0].Score >= policy.Fast.Threshold && top[0].PersonId != existingPersonId)
            {
                var other = Store.GetPerson(top[0].PersonId);
                rejected.Add((photo.Source, FormattableString.Invariant(
                    $"already enrolled as {other?.Name ?? "?"} (person {top[0].PersonId}, similarity {top[0].Score:F3}); add photos to that person instead")));
                continue;
            }
            var crop = CanonicalCrop.From(photo.Image, face.Detection.Box, face.Points);
            var stored = _keepCrops ? new FaceCrop(crop.Jpeg, crop.PointsArray(), crop.BoxArray()) : null;
            float q = face.Quality.Score;
            templates.Add(new TemplateDraft(Settings.Fast.Name, _fastHash, face.Embedding, q, photo.Source, stored));
            if (_accurateEmbedder is not null)
            {
                var v = new float[Settings.Accurate!.OutputSize];
                _accurateEmbedder.Align(photo.Image, face.Detection.Box, face.Points);
                _accurateEmbedder.EmbedCrop(v);
                templates.Add(new TemplateDraft(Settings.Accurate.Name, _accurateHash, v, q, photo.Source, null));
            }
            accepted.Add(photo.Source);
        }
        if (accepted.Count == 0 && (offered > 0 || readyTemplates is not { Count: > 0 })) return new EnrollmentResult(null, accepted, rejected);
        if (readyTemplates is not null)
        {
            templates.AddRange(readyTemplates);
            accepted.AddRange(readyTemplates.Select(t => t.Source));
        }

        Person person;
        if (existingPersonId is { } id)
        {
            Store.AddTemplates(id, templates);
            person = Store.GetPerson(id)!;
        }
        else
        {
            person = Store.Enroll(draft, templates, uid);
        }
        IndexPerson(person.Id);
        _loadedRevision = Store.Revision;
        return new EnrollmentResult(person, accepted, rejected);
    }

    /// <summary>Puts a person's current templates (as stored: the best N) into the indexes.</summary>
    private void IndexPerson(long personId)
    {
        FastIndex.RemovePerson(personId);
        AccurateIndex?.RemovePerson(personId);
        if (Store.GetPerson(personId) is not { Enabled: true }) return;
        foreach (var t in Store.TemplatesOf(personId))
        {
            if (t.ModelName == Settings.Fast.Name && t.ModelHash == _fastHash) FastIndex.Add(personId, t.Id, t.Vector);
            else if (AccurateIndex is not null && t.ModelName == Settings.Accurate!.Name && t.ModelHash == _accurateHash)
                AccurateIndex.Add(personId, t.Id, t.Vector);
        }
        _identifier = new TwoTierIdentifier(FastIndex, AccurateIndex, Policy());
    }

    /// <summary>Every face of the image: quality verdict, and for good faces the decision and the top candidates.</summary>
    public IReadOnlyList<FaceIdentification> Identify(BgrImage image, int top = 5)
    {
        var results = new List<FaceIdentification>();
        foreach (var face in Pipeline.Analyze(image))
        {
            if (Settings.Quality.Check(face.Quality) is { } reason)
            {
                results.Add(new FaceIdentification(face, reason, null, []));
                continue;
            }
            var candidates = new Match[Math.Max(1, top)];
            int n = FastIndex.Search(face.Embedding, candidates);
            var f = face;
            var decision = _identifier.Identify(face.Embedding, _accurateEmbedder is null ? null : dest =>
            {
                _accurateEmbedder.Align(image, f.Detection.Box, f.Points);
                _accurateEmbedder.EmbedCrop(dest);
            });
            results.Add(new FaceIdentification(face, null, decision, candidates[..n]));
        }
        return results;
    }

    /// <summary>
    /// One detected face of a camera frame: landmarks, alignment, quality gate and, for a good face, its embedding
    /// into <paramref name="embedding"/> and the two-tier decision. The per-face path of the camera loop: it
    /// allocates nothing on the fast tier but a rejection's reason text (the accurate tier's callback is a closure).
    /// </summary>
    public (FaceQuality Quality, string? Rejection, Identification? Decision) IdentifyFace(BgrImage image, in FaceDetection face, Span<float> embedding)
    {
        var points = Pipeline.Landmarks.Detect(image, face.Box);
        Pipeline.Embedder.Align(image, face.Box, points);
        var quality = FaceQuality.Measure(face.Box, points, Pipeline.Embedder.Crop);
        if (Settings.Quality.Check(quality) is { } reason) return (quality, reason, null);
        Pipeline.Embedder.EmbedCrop(embedding);
        var box = face.Box;
        var decision = _identifier.Identify(embedding, _accurateEmbedder is null ? null : dest =>
        {
            _accurateEmbedder.Align(image, box, points);
            _accurateEmbedder.EmbedCrop(dest);
        });
        return (quality, null, decision);
    }

    /// <summary>Replaces a person's fields (the whole new state; templates untouched) and updates the indexes
    /// (a disabled person leaves them).</summary>
    public Person Update(long personId, PersonDraft changes)
    {
        var person = Store.UpdatePerson(personId, changes);
        IndexPerson(person.Id);
        _loadedRevision = Store.Revision;
        return person;
    }

    /// <summary>Removes a person and everything stored of them; true when they existed.</summary>
    public bool Remove(long personId)
    {
        bool removed = Store.RemovePerson(personId);
        FastIndex.RemovePerson(personId);
        AccurateIndex?.RemovePerson(personId);
        _identifier = new TwoTierIdentifier(FastIndex, AccurateIndex, Policy());
        _loadedRevision = Store.Revision;
        return removed;
    }

    public void Dispose()
    {
        _accurateEmbedder?.Dispose();
        Pipeline?.Dispose();
        Store.Dispose();
    }
}
