using System.CommandLine;
using System.Globalization;
using Kiosk.Host.Gallery;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Models;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>enroll, people ..., identify: the gallery from the command line.</summary>
internal static class GalleryCommands
{
    public const string PassphraseVariable = "KIOSK_EXPORT_PASSPHRASE";

    /// <summary>Opens the configured gallery with the models of both tiers.</summary>
    internal static GalleryService OpenService(KioskSettings settings, CommonOptions common, ParseResult r, bool reEmbed = true) =>
        OpenService(settings, common.PipelineOptions(r), settings.Gallery, AnsiConsole.Console, reEmbed);

    internal static GalleryService OpenService(KioskSettings settings, FacePipelineOptions pipeline, GalleryOptions gallery, IAnsiConsole? console,
        bool reEmbed = true)
    {
        var store = GalleryStore.Open(gallery);
        try
        {
            // The service owns the store from here on.
            var service = new GalleryService(store, gallery.KeepCrops, pipeline, Identification(settings, pipeline.Embedder), reEmbed);
            foreach (var d in service.Damaged) console?.MarkupLineInterpolated($"[yellow]damaged template skipped: {d}[/]");
            if (service.ReEmbedded > 0)
                console?.MarkupLineInterpolated($"[grey]{service.ReEmbedded} template(s) made from stored face crops for a new model[/]");
            if (service.NeedNewPhotos.Count > 0)
                console?.MarkupLineInterpolated(
                    $"[yellow]{service.NeedNewPhotos.Count} person(s) have no template for the current model and no stored crop: they need new photos: {string.Join(", ", service.NeedNewPhotos.Select(p => $"{p.Id} {p.Name}"))}[/]");
            return service;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    internal static IdentificationSettings Identification(KioskSettings settings, EmbedderSpec fast) => new()
    {
        Fast = fast,
        Accurate = settings.AccurateEmbedder.Length > 0 ? settings.EmbedderSpec(settings.AccurateEmbedder) : null,
        FalseMatchRate = settings.FalseMatchRate,
        Margin = settings.Margin,
        Quality = settings.Quality,
        Precision = settings.IndexPrecision,
    };

    public static Command Enroll(KioskSettings settings)
    {
        var common = new CommonOptions(settings);
        var name = new Option<string?>("--name") { Description = "Display name of the person" };
        var external = new Option<string?>("--external-id") { Description = "Badge number or other id from another system" };
        var groups = new Option<string[]>("--group") { Description = "Group (repeatable), for schedules", AllowMultipleArgumentsPerToken = false };
        var validFrom = new Option<DateTimeOffset?>("--valid-from") { Description = "First moment of access (ISO 8601)" };
        var validUntil = new Option<DateTimeOffset?>("--valid-until") { Description = "Last moment of access (ISO 8601)" };
        var folder = new Option<DirectoryInfo?>("--folder") { Description = "Enroll everyone in DIR: one sub-folder of photos per person, named after them" };
        var images = new Argument<FileInfo[]>("images") { Description = "Photos of the person (several good ones are kept)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("enroll", "Enroll a person from photos, or a folder of people; every rejected photo says why")
            { name, external, groups, validFrom, validUntil, folder, images };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var dir = r.GetValue(folder);
            var files = r.GetValue(images) ?? [];
            if (dir is null && (r.GetValue(name) is not { Length: > 0 } || files.Length == 0))
                throw new UsageException("give --name and at least one photo, or --folder DIR");
            if (dir is not null && (files.Length > 0 || r.GetValue(name) is not null))
                throw new UsageException("--folder takes no --name and no photos: the sub-folders name the people");
            using var service = OpenService(settings, common, r);
            if (dir is not null) return EnrollFolder(service, dir);
            var draft = new PersonDraft(r.GetValue(name)!, r.GetValue(external), r.GetValue(groups), r.GetValue(validFrom), r.GetValue(validUntil));
            EnrollmentResult result;
            try
            {
                result = service.Enroll(draft, files.Select(f => Load(f.FullName)));
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message.Split(" (Parameter")[0]);
            }
            Report(draft.Name, result);
            return result.Person is null ? 1 : 0;
        });
        return cmd;
    }

    private static EnrollmentPhoto Load(string path)
    {
        try
        {
            return new EnrollmentPhoto(path, ImageDecoder.Decode(path));
        }
        catch (ImageDecodeException e)
        {
            return new EnrollmentPhoto(path, null, e.Reason);
        }
    }

    private static int EnrollFolder(GalleryService service, DirectoryInfo dir)
    {
        if (!dir.Exists) throw new DirectoryNotFoundException($"folder {dir.FullName} not found");
        var people = dir.GetDirectories().OrderBy(d => d.Name, StringComparer.Ordinal).ToArray();
        if (people.Length == 0) throw new UsageException($"{dir.FullName} has no sub-folders (one per person)");
        var results = new List<(string Name, EnrollmentResult Result)>();
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"enrolling {people.Length} people", maxValue: people.Length);
                foreach (var person in people)
                {
                    var photos = person.EnumerateFiles().Where(f => !f.Name.StartsWith('.')).OrderBy(f => f.Name, StringComparer.Ordinal);
                    results.Add((person.Name, service.Enroll(new PersonDraft(person.Name), photos.Select(f => Load(f.FullName)))));
                    task.Increment(1);
                }
            });
        foreach (var (n, res) in results) Report(n, res);
        int failed = results.Count(x => x.Result.Person is null);
        AnsiConsole.MarkupLineInterpolated($"{results.Count - failed} of {results.Count} people enrolled");
        return failed == 0 ? 0 : 1;
    }

    private static void Report(string name, EnrollmentResult result)
    {
        if (result.Person is { } p)
            AnsiConsole.MarkupLineInterpolated($"[green]enrolled[/] {name} as person {p.Id}: {result.Accepted.Count} photo(s) accepted");
        else
            AnsiConsole.MarkupLineInterpolated($"[red]not enrolled[/] {name}: no photo passed the quality gate");
        foreach (var (source, reason) in result.Rejected)
            AnsiConsole.MarkupLineInterpolated($"  [yellow]rejected[/] {source}: {reason}");
    }

    public static Command People(KioskSettings settings)
    {
        var people = new Command("people", "List, show, remove, export and import enrolled people");

        var list = new Command("list", "Everyone enrolled");
        list.SetAction(_ =>
        {
            using var store = GalleryStore.Open(settings.Gallery);
            var table = new Table().AddColumns("id", "name", "external id", "groups", "valid", "enabled", "templates");
            foreach (var p in store.ListPeople())
                table.AddRow(p.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(p.Name), Markup.Escape(p.ExternalId ?? ""),
                    Markup.Escape(string.Join(",", p.Groups)), Validity(p), p.Enabled ? "yes" : "no",
                    store.TemplatesOf(p.Id).Count.ToString(CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"gallery {settings.Gallery.DatabasePath}, revision {store.Revision}");
            return 0;
        });

        var idArg = new Argument<long>("id") { Description = "Person id (see people list)" };
        var show = new Command("show", "One person and their templates") { idArg };
        show.SetAction(r =>
        {
            using var store = GalleryStore.Open(settings.Gallery);
            var p = store.GetPerson(r.GetValue(idArg)) ?? throw new UsageException($"no person {r.GetValue(idArg)}");
            AnsiConsole.MarkupLineInterpolated($"[bold]{p.Name}[/] (id {p.Id}{(p.ExternalId is null ? "" : ", external id " + p.ExternalId)})");
            AnsiConsole.MarkupLineInterpolated($"groups: {string.Join(", ", p.Groups)}; valid: {Validity(p)}; enabled: {p.Enabled}; enrolled {p.CreatedUtc:u}");
            var table = new Table().AddColumns("template", "model", "quality", "source", "created");
            foreach (var t in store.TemplatesOf(p.Id))
                table.AddRow(t.Id.ToString(CultureInfo.InvariantCulture), $"{t.ModelName} ({t.ModelHash[..12]})", t.Quality.ToString("F2", CultureInfo.InvariantCulture),
                    Markup.Escape(t.Source), t.CreatedUtc.ToString("u", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        });

        var vacuum = new Option<bool>("--vacuum") { Description = "Also compact the file so the deleted data leaves the disk" };
        var remove = new Command("remove", "Delete a person, their templates and stored face crops") { idArg, vacuum };
        remove.SetAction(r =>
        {
            using var store = GalleryStore.Open(settings.Gallery);
            long id = r.GetValue(idArg);
            if (!store.RemovePerson(id)) throw new UsageException($"no person {id}");
            if (r.GetValue(vacuum)) store.Vacuum();
            Console.WriteLine($"removed person {id}{(r.GetValue(vacuum) ? "; gallery compacted" : "")}");
            return 0;
        });

        var fileArg = new Argument<FileInfo>("file") { Description = "Export file" };
        var passFile = new Option<FileInfo?>("--passphrase-file")
        {
            Description = $"File holding the passphrase that encrypts the export (else the {PassphraseVariable} environment variable)",
        };
        var export = new Command("export", "Write everyone (metadata, templates, crops) to an encrypted file, to move a gallery between kiosks") { fileArg, passFile };
        export.SetAction(r =>
        {
            using var store = GalleryStore.Open(settings.Gallery);
            string pass = Passphrase(r.GetValue(passFile));
            var file = r.GetValue(fileArg)!;
            string tmp = file.FullName + ".partial";
            // Encrypted, but still biometric data: readable by the owner only, from the moment it exists.
            var create = new FileStreamOptions
            {
                Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            };
            using (var stream = new FileStream(tmp, create))
                store.Export(stream, pass);
            File.Move(tmp, file.FullName, overwrite: true);
            Console.WriteLine($"exported {store.ListPeople().Count} people to {file.FullName}");
            return 0;
        });
        var import = new Command("import", "Add or update people from an export file (matched by external id)") { fileArg, passFile };
        import.SetAction(r =>
        {
            using var store = GalleryStore.Open(settings.Gallery);
            var file = r.GetValue(fileArg)!;
            if (!file.Exists) throw new FileNotFoundException($"export file {file.FullName} not found");
            using var stream = file.OpenRead();
            var result = store.Import(stream, Passphrase(r.GetValue(passFile)));
            Console.WriteLine($"imported: {result.PeopleAdded} added, {result.PeopleUpdated} updated, {result.TemplatesAdded} templates");
            return 0;
        });

        foreach (var c in new[] { list, show, remove, export, import }) people.Subcommands.Add(c);
        return people;
    }

    private static string Passphrase(FileInfo? file)
    {
        string? pass = file is not null
            ? (file.Exists ? File.ReadAllText(file.FullName).TrimEnd('\r', '\n') : throw new FileNotFoundException($"passphrase file {file.FullName} not found"))
            : Environment.GetEnvironmentVariable(PassphraseVariable);
        if (string.IsNullOrEmpty(pass))
            throw new UsageException($"no passphrase: set {PassphraseVariable} or give --passphrase-file (never on the command line, where ps shows it)");
        if (pass.Length < 12) throw new UsageException("the passphrase must be at least 12 characters");
        return pass;
    }

    private static string Validity(Person p) =>
        p.ValidFrom is null && p.ValidUntil is null ? "always"
        : $"{p.ValidFrom?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "…"} – {p.ValidUntil?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "…"}";

    public static Command Identify(KioskSettings settings)
    {
        var common = new CommonOptions(settings);
        var image = new Argument<FileInfo>("image") { Description = "Photo to identify (every face in it)" };
        var top = new Option<int>("--top") { Description = "Candidates to list per face", DefaultValueFactory = _ => 5 };
        var cmd = new Command("identify", "Who is in this photo: 1:N search of the gallery, with the decision and the top candidates") { image, top };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            if (r.GetValue(top) is < 1 or > 100) throw new UsageException("--top must be 1..100");
            using var service = OpenService(settings, common, r, reEmbed: false);
            {
                var img = ImageDecoder.Decode(r.GetValue(image)!.FullName);
                var faces = service.Identify(img, r.GetValue(top));
                if (faces.Count == 0) throw new NoFaceException($"no face found in {r.GetValue(image)!.FullName}");
                var policy = service.Policy();
                AnsiConsole.MarkupLineInterpolated(
                    $"{service.FastIndex.PersonCount} people in the gallery; accept at cosine similarity >= {policy.Fast.Threshold:F3} with a lead of {policy.Fast.Margin:F2} (false-match target {service.Settings.FalseMatchRate:G2} per face)");
                int i = 0;
                foreach (var f in faces)
                {
                    var b = f.Face.Detection.Box;
                    string where = FormattableString.Invariant($"face {++i} at ({b.X1:F0},{b.Y1:F0})-({b.X2:F0},{b.Y2:F0})");
                    if (f.QualityRejection is { } why) { AnsiConsole.MarkupLineInterpolated($"{where}: [grey]not identified: {why}[/]"); continue; }
                    var d = f.Decision!.Value;
                    string who = d.Accepted ? $"[green]{Markup.Escape(Name(service, d.PersonId))}[/] (person {d.PersonId})" : "[red]unknown[/]";
                    AnsiConsole.MarkupLine($"{where}: {who}, score {d.Score:F3}, decided by the {d.Tier.ToString().ToLowerInvariant()} tier ({Markup.Escape(d.Reason)})");
                    foreach (var c in f.Candidates)
                        AnsiConsole.MarkupLineInterpolated($"    {c.Score:F3}  {Name(service, c.PersonId)} (person {c.PersonId}, template {c.TemplateId})");
                }
                return faces.Any(f => f.Decision is { Accepted: true }) ? 0 : 1;
            }
        });
        return cmd;
    }

    private static string Name(GalleryService service, long id) => service.Store.GetPerson(id)?.Name ?? "?";
}
