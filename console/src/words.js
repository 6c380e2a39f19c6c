// The console's words in Japanese and English (words-ja.js, words-en.js); the page's <html lang>
// says which.
import { EN } from "./words-en.js";
import { JA } from "./words-ja.js";

export const WORDS = { ja: JA, en: EN };

export const lang = document.documentElement.lang === "en" ? "en" : "ja";
export const t = (key) => WORDS[lang][key] ?? key;
export const number = (n) => new Intl.NumberFormat(lang === "ja" ? "ja-JP" : "en-GB").format(n);
