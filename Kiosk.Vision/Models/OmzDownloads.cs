// Data only. Every size, hash and URL below is copied from models/<intel|public>/<name>/model.yml of
// github.com/openvinotoolkit/open_model_zoo at two commits:
//   Release "2023.0": 7ef5b91f75115a5eec5a67921453d7faaff8f78b (master; the five model.yml files were last changed in
//     af810de42bcf460a18610481f639dcdc86249e69, 2024-02-12). IRs for OpenVINO 2023.0 and later.
//   Release "2022.3": c99f66cc3735f2f7dcfe567136c13d527a1a5dac (branch releases/2022/3, 2024-04-22; the five model.yml
//     files were last changed there in 3db5c49ac5350460dfd184586d414082fa1a8fc8, 2023-01-16). IRs a 2022.3 LTS runtime
//     reads (the last release with the NCS2 / MYRIAD plugin).
// The checksums there are SHA-384, not SHA-256: tools/model_tools/src/omz_tools/download_engine/cache.py
// reads a bare `checksum:` string as {$type: sha384} and verifies with hashlib.sha384.
namespace Kiosk.Vision.Models;

/// <summary>One file: the release whose model.yml lists it (<see cref="OmzDownloads.CurrentRelease"/> or
/// <see cref="OmzDownloads.LtsRelease"/>), its precision folder, its path under the model folder, size in bytes,
/// SHA-384 (lower-case hex) and URL.</summary>
public sealed record OmzFile(string Release, string Precision, string Name, long Size, string Sha384, string Url);

/// <summary>A model: <paramref name="Kind"/> is "detector", "landmarks" or "embedder"; <paramref name="ConversionSteps"/> is set when
/// <paramref name="Files"/> is an original to convert rather than the IR itself.</summary>
public sealed record OmzModel(string Name, string Kind, string License, string Source, IReadOnlyList<OmzFile> Files, string? ConversionSteps);

/// <summary>
/// The Open Model Zoo files the kiosk can fetch, as the zoo's model.yml lists them. The kiosk places each file at
/// &lt;cache&gt;/models/omz/&lt;model name&gt;/&lt;<see cref="OmzFile.Name"/>&gt;.
/// </summary>
public static class OmzDownloads
{
    /// <summary>The open_model_zoo commit (master) of the <see cref="CurrentRelease"/> entries.</summary>
    public const string Commit = "7ef5b91f75115a5eec5a67921453d7faaff8f78b";

    /// <summary>The open_model_zoo commit (branch releases/2022/3) of the <see cref="LtsRelease"/> entries.</summary>
    public const string LtsCommit = "c99f66cc3735f2f7dcfe567136c13d527a1a5dac";

    /// <summary>Release of the entries from <see cref="Commit"/>: IRs for OpenVINO 2023.0 and later.</summary>
    public const string CurrentRelease = "2023.0";

    /// <summary>Release of the entries from <see cref="LtsCommit"/>: IRs for the OpenVINO 2022.3 LTS runtime (NCS2 / MYRIAD).</summary>
    public const string LtsRelease = "2022.3";

    /// <summary>The releases the entries are labelled with, newest first.</summary>
    public static IReadOnlyList<string> Releases { get; } = [CurrentRelease, LtsRelease];

    /// <summary>Precision of a file that is the model's original, unconverted form (not an IR).</summary>
    public const string SourcePrecision = "source";

    private static readonly string[] PrecisionOrder = ["FP32", "FP16", "FP16-INT8", "FP32-INT8"];

    private const string Src = "model.yml of openvinotoolkit/open_model_zoo at " + Commit + " (" + CurrentRelease + ") and "
        + LtsCommit + " (" + LtsRelease + ")";

    public static IReadOnlyList<OmzModel> Models { get; } =
    [
        new("face-detection-retail-0004", "detector", "Apache-2.0 (https://raw.githubusercontent.com/openvinotoolkit/open_model_zoo/master/LICENSE)", $"models/intel/face-detection-retail-0004/{Src}",
        [
            // 2023.0: model.yml at Commit (master).
            new("2023.0", "FP32", "FP32/face-detection-retail-0004.xml", 105340,
                "1933e7a49baafaf809c4d4c89d6380f018cccdd3be9f96360bc5de3f3008412fbb262236e06fddb3ecdbb5a6a990d010",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0004/FP32/face-detection-retail-0004.xml"),
            new("2023.0", "FP32", "FP32/face-detection-retail-0004.bin", 2352984,
                "a2b4fa6dc07a37fb70d3ff11c207e19c167d45b6db5392e7e759b924df8ce16dbcdb8edff682c38820cc2e54bf6fdabf",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0004/FP32/face-detection-retail-0004.bin"),
            new("2023.0", "FP16", "FP16/face-detection-retail-0004.xml", 143827,
                "a7f8d1d41998503c4f3cdd8c12275f04f1736e5142127edcb4c76c3e17188499390574095a5b2a9dd78d3d0f77d02034",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0004/FP16/face-detection-retail-0004.xml"),
            new("2023.0", "FP16", "FP16/face-detection-retail-0004.bin", 1176544,
                "394185d3e42c34d7f9d43229ec8f5755c07e19fd6469d23883e71707fdd8eb66d90cbd62248db90ff3ba1c94adac599b",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0004/FP16/face-detection-retail-0004.bin"),
            // master's model.yml points these two at the 2022.3 folder; they are the same files as the 2022.3 entries below.
            new("2023.0", "FP16-INT8", "FP16-INT8/face-detection-retail-0004.xml", 228622,
                "97e3bb500ee35347869c4a064d5bcd505a6b9b56e23ac8c22d26fe8e657b4e1b847cdf72e9232a7dd5ec1e84d36c1f04",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP16-INT8/face-detection-retail-0004.xml"),
            new("2023.0", "FP16-INT8", "FP16-INT8/face-detection-retail-0004.bin", 600376,
                "2e381495f608515b07f41d39715515523da374ef8b6d9aa1177d9a55fdbf4bc52c0481885a6a671ac988b359a2bd146e",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP16-INT8/face-detection-retail-0004.bin"),
            // 2022.3: model.yml at LtsCommit (releases/2022/3).
            new("2022.3", "FP32", "FP32/face-detection-retail-0004.xml", 105331,
                "4430b428a6c7c8b964c7991736f756872a07fc1f36863a473e9bdf23449cc07fdf89115b79eebdbd98d4e800b4b186ef",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP32/face-detection-retail-0004.xml"),
            new("2022.3", "FP32", "FP32/face-detection-retail-0004.bin", 2352984,
                "a2b4fa6dc07a37fb70d3ff11c207e19c167d45b6db5392e7e759b924df8ce16dbcdb8edff682c38820cc2e54bf6fdabf",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP32/face-detection-retail-0004.bin"),
            new("2022.3", "FP16", "FP16/face-detection-retail-0004.xml", 143856,
                "d9b81c11ee9f7ee404916b5fccdf3e05fbacbeb225776a009688d0a4e6a7a4c5ee06206247db0a7cbce971ee1c91a97b",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP16/face-detection-retail-0004.xml"),
            new("2022.3", "FP16", "FP16/face-detection-retail-0004.bin", 1176544,
                "374d4e680c55847fb98a24848e19074818da6d89916f8a16c46639b666c1f8f4d217a2a5dddce0e19a8dd52fa88c19d1",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP16/face-detection-retail-0004.bin"),
            new("2022.3", "FP16-INT8", "FP16-INT8/face-detection-retail-0004.xml", 228622,
                "97e3bb500ee35347869c4a064d5bcd505a6b9b56e23ac8c22d26fe8e657b4e1b847cdf72e9232a7dd5ec1e84d36c1f04",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP16-INT8/face-detection-retail-0004.xml"),
            new("2022.3", "FP16-INT8", "FP16-INT8/face-detection-retail-0004.bin", 600376,
                "2e381495f608515b07f41d39715515523da374ef8b6d9aa1177d9a55fdbf4bc52c0481885a6a671ac988b359a2bd146e",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0004/FP16-INT8/face-detection-retail-0004.bin"),
        ],
        ConversionSteps: null),
        new("face-detection-retail-0005", "detector", "Apache-2.0 (https://raw.githubusercontent.com/openvinotoolkit/open_model_zoo/master/LICENSE)", $"models/intel/face-detection-retail-0005/{Src}",
        [
            // 2023.0: model.yml at Commit (master).
            new("2023.0", "FP32", "FP32/face-detection-retail-0005.xml", 159519,
                "3aaec0d46b99e596c2b8a208595fd5a503a6345116d0fe20e6c07d881ff82dea311729af6179e4096bc6433a79d93956",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0005/FP32/face-detection-retail-0005.xml"),
            new("2023.0", "FP32", "FP32/face-detection-retail-0005.bin", 4083140,
                "0a57c20f5aea425f9e3a6dd258f7a17b02e413ebfd89974ebc9e1898a40649924fb97dbdb3ef3f0c9ef1acb9d52c92aa",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0005/FP32/face-detection-retail-0005.bin"),
            new("2023.0", "FP16", "FP16/face-detection-retail-0005.xml", 224397,
                "ab274f1c676d239ce312b88c6b6ef146310afcec555123b9a964bc6bcbbfe88a1d15467b3079e9fb3ca8074087501d67",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0005/FP16/face-detection-retail-0005.xml"),
            new("2023.0", "FP16", "FP16/face-detection-retail-0005.bin", 2041626,
                "e745bb7f1dc4a6ab8df277f406f1ac42303d579b5fd049928ddcfb8082760d648d50f0b870f959d828abac63d2df3288",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0005/FP16/face-detection-retail-0005.bin"),
            new("2023.0", "FP16-INT8", "FP16-INT8/face-detection-retail-0005.xml", 410322,
                "30710ed2d86f194c20584a1ed4dd3e4c6e82b9e6ad0fa809e0d5ee0e92aabe25d4317340b0f3169eac05c10ba8d386ea",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0005/FP16-INT8/face-detection-retail-0005.xml"),
            new("2023.0", "FP16-INT8", "FP16-INT8/face-detection-retail-0005.bin", 1115166,
                "883ee2b2511b2d01b09554a7661fbf4a435d41690c41de0f2f1c39f17b9067304e9091bdd796ea82be4685d5ee518d4a",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-detection-retail-0005/FP16-INT8/face-detection-retail-0005.bin"),
            // 2022.3: model.yml at LtsCommit (releases/2022/3).
            new("2022.3", "FP32", "FP32/face-detection-retail-0005.xml", 159595,
                "46433ad49f3a42a407b3e773306eea6f9338c7008dc7239cef6786d530ba04adc01f72059db09d8fa1c78e22086d691b",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0005/FP32/face-detection-retail-0005.xml"),
            new("2022.3", "FP32", "FP32/face-detection-retail-0005.bin", 4083140,
                "0a57c20f5aea425f9e3a6dd258f7a17b02e413ebfd89974ebc9e1898a40649924fb97dbdb3ef3f0c9ef1acb9d52c92aa",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0005/FP32/face-detection-retail-0005.bin"),
            new("2022.3", "FP16", "FP16/face-detection-retail-0005.xml", 224416,
                "8ad18467abcfcc3e914029997aac8a75625eb397b477271902eba43111b8bb8d2c8b9affa8fe434428fa5d58e2f90c72",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0005/FP16/face-detection-retail-0005.xml"),
            new("2022.3", "FP16", "FP16/face-detection-retail-0005.bin", 2041626,
                "adeb381bda95a2a161482dd61eda3051277a1fdbddb5ebe39f42071e0adc44556616fc04940ca78cd6c188f2cbe58d56",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0005/FP16/face-detection-retail-0005.bin"),
            new("2022.3", "FP16-INT8", "FP16-INT8/face-detection-retail-0005.xml", 447248,
                "1091a56ac577da967cd4e76dc244d82eab2fb05be1698d211c794a52fbb2a5b12a10b1ba5a18c8e41a4bb935114f32d1",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0005/FP16-INT8/face-detection-retail-0005.xml"),
            new("2022.3", "FP16-INT8", "FP16-INT8/face-detection-retail-0005.bin", 1115038,
                "c0fa7682cc20bf70a27244eeaea676d78648eac16bf8b0e1bda44172ba4808489f0504a741a59d6207b9e0a0e95016b2",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-detection-retail-0005/FP16-INT8/face-detection-retail-0005.bin"),
        ],
        ConversionSteps: null),
        new("landmarks-regression-retail-0009", "landmarks", "Apache-2.0 (https://raw.githubusercontent.com/openvinotoolkit/open_model_zoo/master/LICENSE)", $"models/intel/landmarks-regression-retail-0009/{Src}",
        [
            // 2023.0: model.yml at Commit (master).
            new("2023.0", "FP32", "FP32/landmarks-regression-retail-0009.xml", 43654,
                "f551a3f78308205aee2b921b1127d6a085414bcdd2dbc525c19acf70e88aa84033dc3f97ec16cd363d4cba12a461983c",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/landmarks-regression-retail-0009/FP32/landmarks-regression-retail-0009.xml"),
            new("2023.0", "FP32", "FP32/landmarks-regression-retail-0009.bin", 762464,
                "ea8afdd4f0eec7273b21bd55c439d3255dd476411175675646e75349241ff81e50bf8f30fbced3f9d683bdc32bfa3db2",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/landmarks-regression-retail-0009/FP32/landmarks-regression-retail-0009.bin"),
            new("2023.0", "FP16", "FP16/landmarks-regression-retail-0009.xml", 66508,
                "393eda465df2a886f7edd932e2f1cd6930ae91f85708f91b4cd60e411acfb86e9de9e083907901208e9e8af639846572",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/landmarks-regression-retail-0009/FP16/landmarks-regression-retail-0009.xml"),
            new("2023.0", "FP16", "FP16/landmarks-regression-retail-0009.bin", 381232,
                "0e6e830387f56783de313e0f7022b7808fd2e9e0b28b411a65608e2c1df0bcf939c65fb699fc51868df30232d6308515",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/landmarks-regression-retail-0009/FP16/landmarks-regression-retail-0009.bin"),
            new("2023.0", "FP16-INT8", "FP16-INT8/landmarks-regression-retail-0009.xml", 99320,
                "3767804ed4d244e63048f8e44e6ba0fb82a71377568009fd30118aec088d815c11f3bbfd6c210916881b9815d79f5cc5",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/landmarks-regression-retail-0009/FP16-INT8/landmarks-regression-retail-0009.xml"),
            new("2023.0", "FP16-INT8", "FP16-INT8/landmarks-regression-retail-0009.bin", 196964,
                "9ef7b38ced5de407631aaea3f6ec44b49560668b90f54b6663bd178d09c258e91dfd22056ffe2f5a6d67fee962d6e92c",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/landmarks-regression-retail-0009/FP16-INT8/landmarks-regression-retail-0009.bin"),
            // 2022.3: model.yml at LtsCommit (releases/2022/3).
            new("2022.3", "FP32", "FP32/landmarks-regression-retail-0009.xml", 43567,
                "322ae6ad41dde92229c922252646341b540a1d758999168bdfefda2afb0a248f7734446205154f1e2b827e2180aed184",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/landmarks-regression-retail-0009/FP32/landmarks-regression-retail-0009.xml"),
            new("2022.3", "FP32", "FP32/landmarks-regression-retail-0009.bin", 762464,
                "ea8afdd4f0eec7273b21bd55c439d3255dd476411175675646e75349241ff81e50bf8f30fbced3f9d683bdc32bfa3db2",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/landmarks-regression-retail-0009/FP32/landmarks-regression-retail-0009.bin"),
            new("2022.3", "FP16", "FP16/landmarks-regression-retail-0009.xml", 66306,
                "aa2371007382b56f9c0a5263982af73f9082da495bea9b5c4285aa00e823e24b72dd69c3f07b5204db9088a4fabe1344",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/landmarks-regression-retail-0009/FP16/landmarks-regression-retail-0009.xml"),
            new("2022.3", "FP16", "FP16/landmarks-regression-retail-0009.bin", 381232,
                "295b2defa639a0ecc21caa506733cb0507c18fb885495a4b88691b1c7d54bc7d78f7aa503e02611080f6368814d9d05c",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/landmarks-regression-retail-0009/FP16/landmarks-regression-retail-0009.bin"),
            new("2022.3", "FP16-INT8", "FP16-INT8/landmarks-regression-retail-0009.xml", 100309,
                "41671095aa5bda543718c3a37d2b65b85b69c97081d3f40ef1369c671b7161401eee8ed1914681c6eb66c7a0ca3cdc03",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/landmarks-regression-retail-0009/FP16-INT8/landmarks-regression-retail-0009.xml"),
            new("2022.3", "FP16-INT8", "FP16-INT8/landmarks-regression-retail-0009.bin", 196972,
                "4fb75d7d85837bb3d312f49e86441e2c5138e27dedc47c0971687a4a87a5d33e08638e97411e6f05df393ac690bfb9b7",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/landmarks-regression-retail-0009/FP16-INT8/landmarks-regression-retail-0009.bin"),
        ],
        ConversionSteps: null),
        new("face-reidentification-retail-0095", "embedder", "Apache-2.0 (https://raw.githubusercontent.com/openvinotoolkit/open_model_zoo/master/LICENSE)", $"models/intel/face-reidentification-retail-0095/{Src}",
        [
            // 2023.0: model.yml at Commit (master).
            new("2023.0", "FP32", "FP32/face-reidentification-retail-0095.xml", 237585,
                "d5adadadf98f45459bf740b0d5cb425b029ef81133280d3b4f9d0ba0d565b8e21b834c3d030448b8926d849340a8ca7a",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP32/face-reidentification-retail-0095.xml"),
            new("2023.0", "FP32", "FP32/face-reidentification-retail-0095.bin", 4427256,
                "953bb75f16d4e7faa0a19700871e6107726cb83e0e062215a841848335694a1e274c61efacab81b4d240d935fe30efda",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP32/face-reidentification-retail-0095.bin"),
            new("2023.0", "FP16", "FP16/face-reidentification-retail-0095.xml", 350427,
                "689fb39e94bbd0d22cfeeb9292d0b91ac753424a7ee2c0555070e4038a00bfcaad473b47303012b9a393027dbad0dbce",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP16/face-reidentification-retail-0095.xml"),
            new("2023.0", "FP16", "FP16/face-reidentification-retail-0095.bin", 2213628,
                "6d51703e854509dafdab9dfc6b932136d301d95be6d52c9c23b5a4f5de1ffec80e8d38b87e0e9556ad36f0dded1588ed",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP16/face-reidentification-retail-0095.bin"),
            new("2023.0", "FP16-INT8", "FP16-INT8/face-reidentification-retail-0095.xml", 650833,
                "5ccd7b936e0926b18c0fe9f851644c08901bdc6bc1885c619c55ce7753d6a3e43d30063a71710e8be809e369329f63e8",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP16-INT8/face-reidentification-retail-0095.xml"),
            new("2023.0", "FP16-INT8", "FP16-INT8/face-reidentification-retail-0095.bin", 1196364,
                "5b4dcdbb2916d26aeff45d97b6ed732ab67ae44912acf273016082bc84a9d6ba2e23d21c6934deb5f5f02e2a1c41a242",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095/FP16-INT8/face-reidentification-retail-0095.bin"),
            // 2022.3: model.yml at LtsCommit (releases/2022/3).
            new("2022.3", "FP32", "FP32/face-reidentification-retail-0095.xml", 237638,
                "9f95dfd9f00ad6cc788910664be7104882b57dc58ae1517961027e24d8a4cff21dbe49095306606fa7ee7ecf5663d477",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP32/face-reidentification-retail-0095.xml"),
            new("2022.3", "FP32", "FP32/face-reidentification-retail-0095.bin", 4427256,
                "953bb75f16d4e7faa0a19700871e6107726cb83e0e062215a841848335694a1e274c61efacab81b4d240d935fe30efda",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP32/face-reidentification-retail-0095.bin"),
            new("2022.3", "FP16", "FP16/face-reidentification-retail-0095.xml", 350471,
                "8fb1193bcdab310ea118401a0ffa1dae20a1c793227cf9789e7982c46f511e8ffc67c02b38d9982a9fd76d0b6617b481",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP16/face-reidentification-retail-0095.xml"),
            new("2022.3", "FP16", "FP16/face-reidentification-retail-0095.bin", 2213628,
                "802a00762eb563acb377eeac0e96bc97384a0d2788e0a977414d0f235e1e1ee90e278579ff5579f32c606d2cb046482a",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP16/face-reidentification-retail-0095.bin"),
            new("2022.3", "FP16-INT8", "FP16-INT8/face-reidentification-retail-0095.xml", 684582,
                "14739924f2e0ce956f36dc2fcb41ef9a0680387a28541eac499dc1fa970bb88c70ff65d82082b24310cdf6c49821e5a9",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP16-INT8/face-reidentification-retail-0095.xml"),
            new("2022.3", "FP16-INT8", "FP16-INT8/face-reidentification-retail-0095.bin", 1196284,
                "40a959c2b1c8f6c59b13d8a5d0d073777419c24a311b14abd03a8a929ee3a95702c130d858d601477b1d10ff54abbca6",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2022.3/models_bin/1/face-reidentification-retail-0095/FP16-INT8/face-reidentification-retail-0095.bin"),
        ],
        ConversionSteps: null),
        new("facenet-20180408-102900", "embedder", "MIT (https://raw.githubusercontent.com/davidsandberg/facenet/master/LICENSE.md)", $"models/public/facenet-20180408-102900/{Src}",
        [
            // The zip's entry is the same (name, size, checksum, source) in the model.yml at LtsCommit, so it is listed
            // once, under 2023.0; that model.yml differs from master's only in its copyright line.
            new("2023.0", "source", "20180408-102900.zip", 195479980,
                "f394011bacf7b191bdc7fd0157a0f6cb5a34c46d1cae2074ff3e8e9917f3eef79a6eeaed5d25395cf2dcad9854b7f8ee",
                "https://storage.openvinotoolkit.org/repositories/open_model_zoo/public/2022.1/facenet-20180408-102900/20180408-102900.zip"),
        ],
        // model.yml: original_source {$type: google_drive, id: 1R77HmFADxe87GmoLwzfgMu_HY0IhcyBz}; source is Intel's mirror.
        // postprocessing: unpack_archive (zip) -> 20180408-102900/20180408-102900.pb
        ConversionSteps:
        """
        What the kiosk expects: its FaceNet spec reads the converted IR, whose input image_batch is NHWC 1x160x160x3,
        BGR, pixel values 0-255, as the converter makes it (--reverse_input_channels makes the input BGR; the mean 127.5
        and scale 128 are folded into the IR; phase_train is frozen to False, so image_batch is the only input), at
          <cache>/models/omz/facenet-20180408-102900/FP32/facenet-20180408-102900.xml (+ .bin)
          <cache>/models/omz/facenet-20180408-102900/FP16/facenet-20180408-102900.xml (+ .bin)

        Run on a connected x86-64 Linux machine; copy only the result to the kiosk. Arguments are those of
        models/public/facenet-20180408-102900/model.yml (model_optimizer_args + input_info) of openvinotoolkit/open_model_zoo,
        the same at master 7ef5b91f75115a5eec5a67921453d7faaff8f78b and at releases/2022/3 c99f66cc3735f2f7dcfe567136c13d527a1a5dac.
        Convert with the OpenVINO release the kiosk runs: 2022.3 LTS (what an NCS2 / MYRIAD needs) or 2023.0 and newer.

        A) Open Model Zoo tools:
           python3 -m venv ~/omz-venv && . ~/omz-venv/bin/activate
           pip install "openvino-dev[tensorflow2]==2022.3.*"     # 2022.3 LTS (Python 3.7-3.10)
           #   or, for a 2023.0+ runtime: pip install "openvino-dev[tensorflow2]==<that release>.*"
           omz_downloader --name facenet-20180408-102900 --output_dir ~/omz/dl
           omz_converter --name facenet-20180408-102900 --download_dir ~/omz/dl --output_dir ~/omz/ir --precisions FP32,FP16
           # result: ~/omz/ir/public/facenet-20180408-102900/FP32/ and FP16/, each facenet-20180408-102900.xml + .bin
           # (omz_converter of 2022.3 passes mo --data_type=FP32|FP16; that of 2023.0 and later --compress_to_fp16=False|True)

        B) Model Optimizer by hand (`mo` of openvino-dev; the command omz_converter builds: at releases/2022/3
           tools/model_tools/src/openvino/model_zoo/omz_converter.py, at master tools/model_tools/src/omz_tools/omz_converter.py):
           unzip 20180408-102900.zip        # gives 20180408-102900/20180408-102900.pb
           B1) openvino-dev==2022.3.*: precision by --data_type
           for p in FP32 FP16; do
             mo --framework=tf --data_type=$p --output_dir="ir/$p" --model_name=facenet-20180408-102900 \
                --input=image_batch,phase_train \
                --freeze_placeholder_with_value="phase_train->False" --reverse_input_channels \
                --mean_values="image_batch[127.5,127.5,127.5]" --scale_values="image_batch[128.0]" \
                --output=embeddings --input_model=20180408-102900/20180408-102900.pb \
                --layout="image_batch(NHWC)" --input_shape="[1,160,160,3],[1]"
           done
           B2) openvino-dev 2023.0 and newer: precision by --compress_to_fp16
           for p in FP32 FP16; do
             if [ "$p" = FP16 ]; then c=True; else c=False; fi
             mo --framework=tf --output_dir="ir/$p" --model_name=facenet-20180408-102900 \
                --input=image_batch,phase_train \
                --freeze_placeholder_with_value="phase_train->False" --reverse_input_channels \
                --mean_values="image_batch[127.5,127.5,127.5]" --scale_values="image_batch[128.0]" \
                --output=embeddings --input_model=20180408-102900/20180408-102900.pb \
                --layout="image_batch(NHWC)" --input_shape="[1,160,160,3],[1]" --compress_to_fp16=$c
           done
           # result: ir/FP32/ and ir/FP16/, each facenet-20180408-102900.xml + .bin

        C) Into the kiosk's cache (<cache> = $KIOSK_CACHE_DIR, else $XDG_CACHE_HOME/kiosk, else ~/.cache/kiosk;
           systemd/kiosk.service sets KIOSK_CACHE_DIR=/opt/kiosk/cache):
           mkdir -p <cache>/models/omz/facenet-20180408-102900
           cp -r <ir>/FP32 <ir>/FP16 <cache>/models/omz/facenet-20180408-102900/
           #   <ir> = ~/omz/ir/public/facenet-20180408-102900 (A) or ir (B)

        D) Check:
           kiosk models list
        """),
    ];

    public static OmzModel? Find(string name) =>
        Models.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The IR precisions among the model's files of <paramref name="release"/>, in the order FP32, FP16,
    /// FP16-INT8, FP32-INT8 (any other after them, in listed order); none for a model that must be converted.</summary>
    public static IReadOnlyList<string> Precisions(OmzModel m, string release = CurrentRelease)
    {
        ArgumentNullException.ThrowIfNull(m);
        var present = m.Files
            .Where(f => f.Release == release && f.Precision != SourcePrecision)
            .Select(f => f.Precision)
            .Distinct()
            .ToList();
        var known = PrecisionOrder.Where(present.Contains);
        var other = present.Where(p => Array.IndexOf(PrecisionOrder, p) < 0);
        return known.Concat(other).ToArray();
    }
}
