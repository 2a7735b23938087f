using Kiosk.Vision.Evaluation;

namespace Kiosk.Tests.Evaluation;

public sealed class PairListReaderTests
{
    private static string MasterCsv => Path.Combine(TestPaths.PairsDev, "master.csv");

    private static string PivotCsv => Path.Combine(TestPaths.PairsDev, "face-recognition-pivot.csv");

    private static IReadOnlyList<FacePair> Parse(string text, string sourceName = "test.csv") =>
        PairListReader.Parse(new StringReader(text), sourceName);

    private static PairListFormatException ParseFails(string text, string sourceName = "test.csv") =>
        Assert.Throws<PairListFormatException>(() => Parse(text, sourceName));

    [Fact]
    public void Master_csv_has_300_pairs_38_same_and_262_different()
    {
        var pairs = PairListReader.Read(MasterCsv);

        Assert.Equal(300, pairs.Count);
        Assert.Equal(38, pairs.Count(p => p.Same));
        Assert.Equal(262, pairs.Count(p => !p.Same));
        Assert.Equal(new FacePair("img20.jpg", "img21.jpg", true), pairs[0]);
        Assert.Equal(new FacePair("img19.jpg", "img9.jpg", false), pairs[^1]);
    }

    [Fact]
    public void Pivot_csv_has_280_pairs_140_same_and_140_different_with_prefixes_stripped()
    {
        var pairs = PairListReader.Read(PivotCsv);

        Assert.Equal(280, pairs.Count);
        Assert.Equal(140, pairs.Count(p => p.Same));
        Assert.Equal(140, pairs.Count(p => !p.Same));
        Assert.Equal(new FacePair("img38.jpg", "img39.jpg", true), pairs[0]);
        Assert.All(pairs, p =>
        {
            Assert.DoesNotContain('/', p.FileA + p.FileB);
            Assert.EndsWith(".jpg", p.FileA, StringComparison.Ordinal);
            Assert.EndsWith(".jpg", p.FileB, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Every_file_named_in_the_real_lists_exists_in_pairs_dev()
    {
        var names = PairListReader.Read(MasterCsv).Concat(PairListReader.Read(PivotCsv))
            .SelectMany(p => new[] { p.FileA, p.FileB })
            .Distinct();

        Assert.All(names, name => Assert.True(File.Exists(Path.Combine(TestPaths.PairsDev, name)), name));
    }

    [Fact]
    public void Columns_are_found_by_name_in_any_order_and_extra_columns_are_ignored()
    {
        var pairs = Parse("score,DECISION,File_Y,file_x\n0.5,yes,b.jpg,a.jpg\n");

        Assert.Equal([new FacePair("a.jpg", "b.jpg", true)], pairs);
    }

    [Theory]
    [InlineData("Yes", true)]
    [InlineData("yes", true)]
    [InlineData("TRUE", true)]
    [InlineData("1", true)]
    [InlineData("Same", true)]
    [InlineData(" yes ", true)]
    [InlineData("No", false)]
    [InlineData("no", false)]
    [InlineData("False", false)]
    [InlineData("0", false)]
    [InlineData("DIFFERENT", false)]
    public void Decision_values_are_read_case_insensitively(string decision, bool expected)
    {
        var pairs = Parse($"file_x,file_y,Decision\na.jpg,b.jpg,{decision}\n");

        Assert.Equal(expected, Assert.Single(pairs).Same);
    }

    [Theory]
    [InlineData("deepface/tests/dataset/img38.jpg", "img38.jpg")]
    [InlineData(@"C:\faces\img1.jpg", "img1.jpg")]
    [InlineData(@"mixed/dir\img2.jpg", "img2.jpg")]
    [InlineData("img3.jpg", "img3.jpg")]
    public void Directory_prefixes_are_stripped_from_file_names(string written, string expected)
    {
        var pairs = Parse($"file_x,file_y,decision\n{written},{written},yes\n");

        Assert.Equal(new FacePair(expected, expected, true), Assert.Single(pairs));
    }

    [Fact]
    public void Bom_crlf_blank_lines_and_a_missing_final_newline_are_accepted()
    {
        var pairs = Parse("\uFEFFfile_x,file_y,Decision\r\n\r\na.jpg,b.jpg,Yes\r\n   \r\nc.jpg,d.jpg,No");

        Assert.Equal([new FacePair("a.jpg", "b.jpg", true), new FacePair("c.jpg", "d.jpg", false)], pairs);
    }

    [Fact]
    public void A_file_with_a_bom_is_read_from_disk()
    {
        string path = Path.Combine(Path.GetTempPath(), $"pairs-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "file_x,file_y,Decision\r\na.jpg,b.jpg,Yes\r\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

            Assert.Equal([new FacePair("a.jpg", "b.jpg", true)], PairListReader.Read(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Quoted_fields_may_hold_commas_doubled_quotes_and_line_breaks()
    {
        var pairs = Parse("file_x,file_y,decision,note\n\"dir/a, b.jpg\",\"say \"\"hi\"\".jpg\",\"No\",\"two\nlines\"\nc.jpg,d.jpg,yes,x\n");

        Assert.Equal([new FacePair("a, b.jpg", "say \"hi\".jpg", false), new FacePair("c.jpg", "d.jpg", true)], pairs);
    }

    [Fact]
    public void An_empty_input_fails_naming_line_1()
    {
        var error = ParseFails("", "empty.csv");

        Assert.Equal(1, error.LineNumber);
        Assert.StartsWith("empty.csv, line 1:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_column_fails_on_the_header_line()
    {
        var error = ParseFails("\nfile_x,file_b,decision\na.jpg,b.jpg,yes\n", "pairs.csv");

        Assert.Equal(2, error.LineNumber);
        Assert.Contains("pairs.csv, line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("file_y", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_decision_fails_naming_file_line_and_value()
    {
        var error = ParseFails("file_x,file_y,decision\r\na.jpg,b.jpg,yes\r\na.jpg,c.jpg,maybe\r\n", "master.csv");

        Assert.Equal(3, error.LineNumber);
        Assert.Equal("master.csv", error.SourceName);
        Assert.Contains("master.csv, line 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("maybe", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file_x,file_y,decision\na.jpg,b.jpg\n", 2)]
    [InlineData("file_x,file_y,decision\na.jpg,b.jpg,yes\n\na.jpg,b.jpg,yes,extra\n", 4)]
    public void A_wrong_field_count_fails_with_the_line_number(string text, int line)
    {
        var error = ParseFails(text);

        Assert.Equal(line, error.LineNumber);
        Assert.Contains($"line {line}:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Line_numbers_count_line_breaks_inside_quoted_fields()
    {
        var error = ParseFails("file_x,file_y,decision,note\na.jpg,b.jpg,yes,\"one\r\ntwo\"\na.jpg,b.jpg,nope,x\n");

        Assert.Equal(4, error.LineNumber);
    }

    [Fact]
    public void An_unclosed_quote_fails_with_the_line_it_opened_on()
    {
        var error = ParseFails("file_x,file_y,decision\na.jpg,\"b.jpg,yes\n");

        Assert.Equal(2, error.LineNumber);
    }

    [Fact]
    public void Text_after_a_closing_quote_fails()
    {
        var error = ParseFails("file_x,file_y,decision\n\"a.jpg\"x,b.jpg,yes\n");

        Assert.Equal(2, error.LineNumber);
    }

    [Fact]
    public void A_path_without_a_file_name_fails()
    {
        var error = ParseFails("file_x,file_y,decision\ndir/,b.jpg,yes\n");

        Assert.Equal(2, error.LineNumber);
        Assert.Contains("file_x", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicated_required_column_fails()
    {
        var error = ParseFails("file_x,file_y,decision,Decision\na.jpg,b.jpg,yes,no\n");

        Assert.Equal(1, error.LineNumber);
    }

    [Fact]
    public void The_format_exception_is_a_FormatException()
    {
        Assert.IsAssignableFrom<FormatException>(ParseFails("nothing,here\n"));
    }
}
