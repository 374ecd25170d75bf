//! `#[rentio::main]` and `#[rentio::test]`. Use them through the `rentio`
//! crate, whose paths the expansions name.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, Token};

/// Runs an `async fn main` on a rentio runtime.
///
/// Options: `threads = N` (run the body on N threads, one runtime each,
/// through the thread-per-core launcher; the body then returns `()`),
/// `backend = "auto" | "uring" | "poll"`, `entries = N` (ring size).
///
/// A runtime that cannot start (a forced io_uring the kernel refuses, an
/// unknown `RENTIO_DRIVER`) is never a panic. If `main` returns
/// `Result<_, E>` with `E: From<std::io::Error>` (`io::Result<()>`,
/// `Box<dyn Error>`, anyhow's), it returns the builder's error converted;
/// otherwise it prints `error: ...` with the reason to stderr and exits
/// with status 1. With `threads`, every thread whose runtime cannot start
/// prints its error and the process exits with status 1 (a body that
/// panicked goes on panicking).
///
/// ```ignore
/// #[rentio::main(backend = "uring", entries = 256)]
/// async fn main() -> std::io::Result<()> {
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_or_report(args, item, Kind::Main)
}

/// Runs an `async fn` test once per available backend (io_uring, then
/// readiness), naming the backend in a failure. A backend the machine
/// lacks is skipped with a message; `RENTIO_DRIVER` narrows which run.
///
/// Option: `entries = N`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_or_report(args, item, Kind::Test)
}

/// On an error, emits it together with the function unchanged, so the
/// error is the only one reported (no cascade of "no `main` function").
fn expand_or_report(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let item: TokenStream2 = item.into();
    match expand(args.into(), item.clone(), kind) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            let mut out = e.into_compile_error();
            if kind == Kind::Main {
                out.extend(item);
            }
            out.into()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

#[derive(Default)]
struct Options {
    threads: Option<(usize, Span)>,
    backend: Option<TokenStream2>,
    entries: Option<u32>,
}

fn parse_options(args: TokenStream2, kind: Kind) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut options = Options::default();
    for meta in metas {
        let Meta::NameValue(nv) = &meta else {
            return Err(syn::Error::new(meta.span(), "expected `name = value`"));
        };
        let name = nv
            .path
            .get_ident()
            .map(ToString::to_string)
            .ok_or_else(|| syn::Error::new(nv.path.span(), "expected an option name"))?;
        match (name.as_str(), kind) {
            ("threads", Kind::Main) => {
                let n: usize = int(&nv.value)?;
                if n == 0 {
                    return Err(syn::Error::new(
                        nv.value.span(),
                        "`threads` must be at least 1",
                    ));
                }
                options.threads = Some((n, nv.value.span()));
            }
            ("backend", Kind::Main) => {
                let s = string(&nv.value)?;
                let choice = match s.as_str() {
                    "auto" => quote!(::rentio::BackendChoice::Auto),
                    "uring" => quote!(::rentio::BackendChoice::Uring),
                    "poll" => quote!(::rentio::BackendChoice::Poll),
                    _ => {
                        return Err(syn::Error::new(
                            nv.value.span(),
                            "`backend` is one of \"auto\", \"uring\", \"poll\"",
                        ));
                    }
                };
                options.backend = Some(choice);
            }
            ("entries", _) => {
                let n: u32 = int(&nv.value)?;
                if n == 0 {
                    return Err(syn::Error::new(
                        nv.value.span(),
                        "`entries` must be at least 1",
                    ));
                }
                options.entries = Some(n);
            }
            (_, Kind::Main) => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!("unknown option `{name}`: expected `threads`, `backend` or `entries`"),
                ));
            }
            (_, Kind::Test) => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!(
                        "unknown option `{name}`: #[rentio::test] takes `entries` (it runs every backend)"
                    ),
                ));
            }
        }
    }
    Ok(options)
}

fn int<T: std::str::FromStr>(expr: &Expr) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse(),
        _ => Err(syn::Error::new(expr.span(), "expected an integer literal")),
    }
}

fn string(expr: &Expr) -> syn::Result<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        _ => Err(syn::Error::new(expr.span(), "expected a string literal")),
    }
}

/// The body of a one-thread `main`. The user's block becomes a future
/// first, so none of the expansion's names are in its scope. A runtime
/// that cannot start is not a panic: `main` returns the error when its
/// return type is `Result<_, E>` with `E: From<io::Error>`, else prints it
/// and exits with status 1. Which of the two is chosen by the return type,
/// through autoref method resolution: the `Result` impl is on the helper,
/// the fallback on a reference to it, so the first applies wherever its
/// bounds hold. The helpers live in the error arm, out of the body's
/// sight, and their `__Rentio` names keep them from shadowing a type the
/// return type names.
fn main_one(output: &syn::ReturnType, body: &syn::Block, builder: &TokenStream2) -> TokenStream2 {
    let exit = quote! {
        ::std::eprintln!("error: cannot start the rentio runtime: {}", error);
        ::std::process::exit(1)
    };
    let on_error = match output {
        // `()`, and types that cannot be named in `PhantomData` (`!`,
        // `impl Trait`): no `Result` to return.
        syn::ReturnType::Default => exit,
        syn::ReturnType::Type(_, ty)
            if matches!(**ty, syn::Type::Never(_) | syn::Type::ImplTrait(_)) =>
        {
            exit
        }
        syn::ReturnType::Type(_, ty) => quote! {
            struct __RentioStartError<R>(::core::marker::PhantomData<R>);
            trait __RentioReturnIt {
                type Output;
                fn __rentio_fail(&self, error: ::std::io::Error) -> Self::Output;
            }
            impl<T, E: ::core::convert::From<::std::io::Error>> __RentioReturnIt
                for __RentioStartError<::core::result::Result<T, E>>
            {
                type Output = ::core::result::Result<T, E>;
                fn __rentio_fail(&self, error: ::std::io::Error) -> Self::Output {
                    ::core::result::Result::Err(::core::convert::From::from(error))
                }
            }
            trait __RentioExit {
                type Output;
                fn __rentio_fail(&self, error: ::std::io::Error) -> Self::Output;
            }
            impl<R> __RentioExit for &__RentioStartError<R> {
                type Output = R;
                fn __rentio_fail(&self, error: ::std::io::Error) -> R {
                    #exit
                }
            }
            (&__RentioStartError::<#ty>(::core::marker::PhantomData)).__rentio_fail(error)
        },
    };
    quote! {
        let body = async move #body;
        #builder
        match builder.build() {
            ::core::result::Result::Ok(runtime) => runtime.block_on(body),
            ::core::result::Result::Err(error) => { #on_error }
        }
    }
}

/// The body of `main(threads = n)`: a runtime per thread. A runtime that
/// cannot start prints its error; then a panicking body's panic goes on,
/// or else the process exits with status 1.
fn main_threads(n: usize, body: &syn::Block, builder: &TokenStream2) -> TokenStream2 {
    quote! {
        let body = || async move #body;
        #builder
        let results = ::rentio::tpc::Launcher::new()
            .threads(#n)
            .builder(builder)
            .run(move |_core| body());
        let mut failed = false;
        let mut panic = ::core::option::Option::None;
        for (core, result) in results.into_iter().enumerate() {
            match result {
                ::core::result::Result::Ok(()) => {}
                ::core::result::Result::Err(::rentio::tpc::CoreError::Io(error)) => {
                    ::std::eprintln!("error: cannot start the rentio runtime of core {}: {}", core, error);
                    failed = true;
                }
                ::core::result::Result::Err(::rentio::tpc::CoreError::Panic(payload)) => {
                    panic.get_or_insert(payload);
                }
            }
        }
        if let ::core::option::Option::Some(payload) = panic {
            ::std::panic::resume_unwind(payload);
        }
        if failed {
            ::std::process::exit(1);
        }
    }
}

fn expand(args: TokenStream2, item: TokenStream2, kind: Kind) -> syn::Result<TokenStream2> {
    let options = parse_options(args, kind)?;
    let mut func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "the function must be `async fn`",
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "the function takes no arguments",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "the function cannot be generic",
        ));
    }
    if kind == Kind::Main && sig.ident != "main" {
        return Err(syn::Error::new(
            sig.ident.span(),
            "#[rentio::main] goes on `fn main`",
        ));
    }
    func.sig.asyncness = None;
    let body = &func.block;
    let output = &func.sig.output;
    let ret = match output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) => quote!(#ty),
    };
    let entries = options.entries.map(|n| quote!(builder.entries(#n);));
    let new_body = match kind {
        Kind::Main => {
            let backend = options.backend.map(|b| quote!(builder.backend(#b);));
            let builder = quote! {
                let mut builder = ::rentio::Builder::new();
                #backend
                #entries
            };
            match options.threads {
                Some((n, span)) if n > 1 => {
                    if !matches!(output, syn::ReturnType::Default) {
                        return Err(syn::Error::new(
                            span,
                            "with `threads` above 1 the body runs on every thread and must return ()",
                        ));
                    }
                    main_threads(n, body, &builder)
                }
                _ => main_one(output, body, &builder),
            }
        }
        Kind::Test => {
            let name = func.sig.ident.to_string();
            quote! {
                let mut builder = ::rentio::Builder::new();
                #entries
                ::rentio::__private::test_each_backend::<_, _, #ret>(#name, &builder, || async move #body)
            }
        }
    };
    if kind == Kind::Test {
        // The test harness wants `()`; the body's result is checked inside.
        func.sig.output = syn::ReturnType::Default;
    }
    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    let test_attr = match kind {
        Kind::Test => quote_spanned!(sig.ident.span()=> #[::core::prelude::v1::test]),
        Kind::Main => quote!(),
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #new_body
        }
    })
}
