using System.Text.Json;
using ControlHost.Engine.Text;

namespace ControlHost.Engine.Tests;

public class ClipTokenizerTests
{
    private static readonly ClipTokenizer Tokenizer = ClipTokenizer.FromFolder(RepoPaths.TokenizerDir);
    private static readonly Dictionary<string, int> Vocab =
        JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(RepoPaths.TokenizerDir, "vocab.json")))!;

    [Fact]
    public void Special_tokens_have_the_documented_ids()
    {
        Assert.Equal(49406, Tokenizer.StartToken);
        Assert.Equal(49407, Tokenizer.EndToken);
        Assert.Equal(49408, Tokenizer.VocabularySize);
    }

    [Fact]
    public void A_photo_of_a_cat_matches_the_known_answer()
    {
        var ids = Tokenizer.EncodeForModel("a photo of a cat");
        Assert.Equal(77, ids.Length);
        Assert.Equal(new[] { 49406, 320, 1125, 539, 320, 2368, 49407 }, ids[..7]);
        Assert.All(ids[7..], id => Assert.Equal(49407, id));
    }

    [Fact]
    public void Case_and_whitespace_are_normalised()
    {
        Assert.Equal(Tokenizer.EncodeForModel("a photo of a cat"), Tokenizer.EncodeForModel("  A   Photo\tof a\nCAT "));
    }

    [Theory]
    [InlineData("circle")]
    [InlineData("triangle")]
    [InlineData("background")]
    [InlineData("striped")]
    public void Whole_words_in_the_vocabulary_are_one_token_with_end_of_word(string word)
    {
        Assert.Equal(new[] { Vocab[word + "</w>"] }, Tokenizer.Encode(word));
    }

    [Fact]
    public void Words_outside_the_vocabulary_split_into_pieces_whose_last_carries_end_of_word()
    {
        var ids = Tokenizer.Encode("cyan");
        Assert.True(ids.Count > 1);
        var byId = Vocab.ToDictionary(kv => kv.Value, kv => kv.Key);
        Assert.EndsWith("</w>", byId[ids[^1]]);
        Assert.All(ids.SkipLast(1), id => Assert.DoesNotContain("</w>", byId[id]));
        Assert.Equal("cyan</w>", string.Concat(ids.Select(i => byId[i])));
    }

    [Fact]
    public void Punctuation_and_contractions_split_as_clip_does()
    {
        // "'s" is split off; "!" is its own word.
        var ids = Tokenizer.Encode("cat's hat!");
        var byId = Vocab.ToDictionary(kv => kv.Value, kv => kv.Key);
        Assert.Equal(new[] { "cat</w>", "'s</w>", "hat</w>", "!</w>" }, ids.Select(i => byId[i]));
    }

    [Fact]
    public void Long_prompts_are_truncated_to_75_tokens_between_start_and_end()
    {
        var ids = Tokenizer.EncodeForModel(string.Join(" ", Enumerable.Repeat("cat", 200)));
        Assert.Equal(77, ids.Length);
        Assert.Equal(49406, ids[0]);
        Assert.Equal(49407, ids[76]);
        Assert.All(ids[1..76], id => Assert.Equal(2368, id));
    }

    [Fact]
    public void Non_ascii_text_round_trips_through_bytes_without_error()
    {
        var ids = Tokenizer.Encode("café 🐱 日本");
        Assert.NotEmpty(ids);
        Assert.DoesNotContain(-1, ids);
    }

    [Fact]
    public void Empty_prompt_is_start_end_and_padding()
    {
        var ids = Tokenizer.EncodeForModel("");
        Assert.Equal(49406, ids[0]);
        Assert.All(ids[1..], id => Assert.Equal(49407, id));
    }
}
