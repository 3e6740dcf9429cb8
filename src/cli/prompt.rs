//! `snarkml market`: the prompt marketplace — delivery keys, deployment, buyer keys, listing,
//! buying, delivery, decryption, refunds.

use super::human::{ether, hash, utc, word};
use super::market::parse_fee;
use super::print;
use super::{block_on, stdout_to_stderr, timed, RpcOpts};
use crate::artifacts::{write_secret_json, BuildDir};
use crate::chain::prompt::{self as chain, ListingEntry, OrderEntry};
use crate::pipeline::prompt::{self, DeliveryDir};
use clap::{Args, Subcommand};
use serde_json::json;
use snarkml_circuits::fixed_point::field_to_hex;
use std::path::PathBuf;

/// Options every command that talks to a deployed marketplace shares.
#[derive(Debug, Args)]
pub struct MarketOpts {
    /// The PromptMarketplace [default: the one `market deploy` recorded for this chain].
    #[arg(long, env = "SNARKML_MARKET")]
    market: Option<String>,
    #[command(flatten)]
    rpc: RpcOpts,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl MarketOpts {
    /// The PromptMarketplace: `--market` / `SNARKML_MARKET`, else the recorded one.
    fn address(&self, cfg: &crate::chain::ChainConfig) -> eyre::Result<alloy::primitives::Address> {
        super::contract_address(
            self.market.as_deref(),
            crate::deployments::Contract::Market,
            "--market",
            cfg,
        )
    }
}

/// `snarkml market`.
#[derive(Debug, Subcommand)]
pub enum MarketCmd {
    /// Make the delivery circuit's keys and verifier for prompts of N values.
    #[command(
        after_help = "Examples:\n  snarkml market setup --prompt-len 4 --srs srs/k14.bin -o delivery-4/"
    )]
    Setup {
        /// Values per prompt (the listed model's input size).
        #[arg(long)]
        prompt_len: usize,
        /// SRS file (at least 2^k points; k grows with the prompt: 14 for a few values, 16
        /// for 32).
        #[arg(long)]
        srs: PathBuf,
        /// Delivery directory to write.
        #[arg(short, long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deploy a PromptMarketplace on a registry with the delivery verifiers of the given
    /// directories (one per prompt length, fixed for the marketplace's life).
    #[command(after_help = "Examples:\n  snarkml market deploy --delivery delivery-4/")]
    Deploy {
        /// The ModelRegistry [default: the one `contracts deploy` recorded for this chain].
        #[arg(long, env = "SNARKML_REGISTRY")]
        registry: Option<String>,
        /// Delivery directories (after `market setup`).
        #[arg(long = "delivery", required = true)]
        deliveries: Vec<PathBuf>,
        /// Allow keys from a development SRS on a chain other than a local anvil (chain id
        /// 31337): anyone could forge proofs.
        #[arg(long)]
        insecure_srs: bool,
        #[command(flatten)]
        rpc: RpcOpts,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a buyer's Grumpkin key pair (the secret stays in the file).
    #[command(after_help = "Examples:\n  snarkml market keygen -o buyer.key.json")]
    Keygen {
        /// Key file to write (never overwritten).
        #[arg(short, long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the prompt of an inference proof (model compiled with --inputs hashed).
    #[command(
        after_help = "Examples:\n  snarkml prove build/ --input prompt.json -o listing.json\n  snarkml market list listing.json --build build/ --model 1 --price 0.1ether"
    )]
    List {
        /// The inference proof (its openings file beside it holds the prompt; it stays private).
        proof: PathBuf,
        /// The model's build directory.
        #[arg(long)]
        build: PathBuf,
        /// The registered model id.
        #[arg(long)]
        model: u64,
        /// The price of one delivery: wei, or a number with `gwei` or `ether`.
        #[arg(long)]
        price: String,
        #[command(flatten)]
        opts: MarketOpts,
    },
    /// Buy a listing: escrow its price with your public key, after checking that the listed
    /// model's verifier and the marketplace's delivery verifier are exactly the ones your own
    /// builds generate.
    #[command(
        after_help = "Examples:\n  snarkml market buy 1 --key buyer.key.json --build text/ --delivery delivery-32/ --ttl 3600"
    )]
    Buy {
        /// The listing id.
        listing: u64,
        /// Your key file (after `market keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The listed model's build, with its verifier generated (`gen-verifier`) in the form
        /// that was deployed.
        #[arg(long)]
        build: PathBuf,
        /// The delivery directory for the listing's prompt length (`market setup`).
        #[arg(long)]
        delivery: PathBuf,
        /// Seconds the seller has to deliver.
        #[arg(long, default_value_t = 86_400)]
        ttl: u64,
        #[command(flatten)]
        opts: MarketOpts,
    },
    /// Deliver an order: prove the prompt is encrypted to the buyer's key; paid in the same
    /// transaction.
    #[command(
        after_help = "Examples:\n  snarkml market deliver 1 --proof listing.json --delivery delivery-4/"
    )]
    Deliver {
        /// The order id.
        order: u64,
        /// The listing's inference proof (its openings file holds the prompt).
        #[arg(long)]
        proof: PathBuf,
        /// The delivery directory for the prompt's length.
        #[arg(long)]
        delivery: PathBuf,
        #[command(flatten)]
        opts: MarketOpts,
    },
    /// Decrypt a delivered order with your key; writes the prompt as an input file of the model.
    #[command(
        after_help = "Examples:\n  snarkml market decrypt 1 --key buyer.key.json --build build/ -o prompt.json"
    )]
    Decrypt {
        /// The order id.
        order: u64,
        /// Your key file.
        #[arg(long)]
        key: PathBuf,
        /// The listed model's build directory (for the prompt's scale and name).
        #[arg(long)]
        build: PathBuf,
        /// Input file to write.
        #[arg(short, long)]
        out: PathBuf,
        #[command(flatten)]
        opts: MarketOpts,
    },
    /// Credit an expired, undelivered order back to its buyer.
    #[command(after_help = "Examples:\n  snarkml market refund 1")]
    Refund {
        /// The order id.
        order: u64,
        #[command(flatten)]
        opts: MarketOpts,
    },
    /// Show a listing or an order.
    #[command(
        after_help = "Examples:\n  snarkml market show listing 1\n  snarkml market show order 1 --json"
    )]
    Show {
        /// `listing` or `order`.
        #[arg(value_parser = ["listing", "order"])]
        what: String,
        /// Its id.
        id: u64,
        #[command(flatten)]
        opts: MarketOpts,
    },
    /// Withdraw everything the marketplace credited to the sender.
    #[command(after_help = "Examples:\n  snarkml market withdraw --private-key $KEY")]
    Withdraw {
        #[command(flatten)]
        opts: MarketOpts,
    },
}

fn listing_json(l: &ListingEntry) -> serde_json::Value {
    json!({
        "id": l.id,
        "seller": l.seller.to_string(),
        "active": l.active,
        "model": l.model_id,
        "prompt_commitment": word(l.prompt_commitment),
        "prompt_len": l.prompt_len,
        "output_digest": hash(l.output_digest),
        "price_wei": l.price.to_string(),
    })
}

fn order_json(o: &OrderEntry) -> serde_json::Value {
    json!({
        "id": o.id,
        "buyer": o.buyer.to_string(),
        "listing": o.listing_id,
        "status": o.status,
        "deadline": o.deadline,
        "deadline_utc": utc(o.deadline),
        "price_wei": o.price.to_string(),
        "key": [word(o.key.0), word(o.key.1)],
    })
}

impl MarketCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        match self {
            MarketCmd::Setup {
                prompt_len,
                srs,
                out,
                json: j,
            } => {
                let dir = DeliveryDir::new(&out);
                // halo2-base prints its layout statistics on stdout.
                let (info, secs) = stdout_to_stderr(|| {
                    timed("delivery keys and verifier", || {
                        prompt::setup_delivery(prompt_len, &srs, &dir)
                    })
                })?;
                print(
                    j,
                    json!({
                        "dir": out.display().to_string(),
                        "prompt_len": info.prompt_len,
                        "k": info.shape.config.k,
                        "num_instances": info.num_instances,
                        "vk_hash": info.vk_hash,
                        "seconds": secs,
                    }),
                    || {
                        println!(
                            "delivery keys and verifier for {prompt_len}-value prompts in {} ({secs:.1}s)",
                            out.display()
                        );
                        println!(
                            "  k = {}, {} public instances",
                            info.shape.config.k, info.num_instances
                        );
                    },
                )
            }
            MarketCmd::Deploy {
                registry,
                deliveries,
                insecure_srs,
                rpc,
                json: j,
            } => {
                let cfg = rpc.config()?;
                let registry = super::market::registry_address(registry.as_deref(), &cfg)?;
                let dirs: Vec<DeliveryDir> = deliveries.iter().map(DeliveryDir::new).collect();
                let m = block_on(prompt::deploy_marketplace(
                    &cfg,
                    registry,
                    &dirs,
                    insecure_srs,
                ))?;
                let file =
                    super::record_deployments(&cfg, &[(crate::deployments::Contract::Market, m)])?;
                print(
                    j,
                    json!({"market": m.to_string(), "recorded_in": file.display().to_string()}),
                    || {
                        println!("PromptMarketplace {m}");
                        println!(
                            "recorded in {} (later commands on this chain use it)",
                            file.display()
                        );
                    },
                )
            }
            MarketCmd::Keygen { out, json: j } => {
                let pk = prompt::keygen_buyer(&out)?;
                let public = [field_to_hex(&pk.x), field_to_hex(&pk.y)];
                print(
                    j,
                    json!({"key_file": out.display().to_string(), "public": public}),
                    || {
                        println!("key pair written to {} (keep it private)", out.display());
                        println!("  public key ({}, {})", public[0], public[1]);
                    },
                )
            }
            MarketCmd::List {
                proof,
                build,
                model,
                price,
                opts,
            } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                let build = BuildDir::new(&build);
                let price = parse_fee(&price)?;
                let l = block_on(async {
                    let id = prompt::list(&cfg, m, model, &build, &proof, price).await?;
                    chain::listing(&cfg, m, id).await
                })?;
                print(opts.json, listing_json(&l), || {
                    println!(
                        "listing {}: a {}-value prompt for model {} at {}",
                        l.id,
                        l.prompt_len,
                        l.model_id,
                        ether(l.price)
                    );
                })
            }
            MarketCmd::Buy {
                listing,
                key,
                build,
                delivery,
                ttl,
                opts,
            } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                let checks = prompt::BuyChecks {
                    build: &BuildDir::new(&build),
                    delivery: &DeliveryDir::new(&delivery),
                };
                let o = block_on(prompt::buy(&cfg, m, listing, &key, ttl, checks))?;
                print(opts.json, order_json(&o), || {
                    println!(
                        "order {}: listing {} paid {} into escrow, to deliver by {}",
                        o.id,
                        o.listing_id,
                        ether(o.price),
                        utc(o.deadline)
                    );
                })
            }
            MarketCmd::Deliver {
                order,
                proof,
                delivery,
                opts,
            } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                let dir = DeliveryDir::new(&delivery);
                let (d, prove_secs) =
                    stdout_to_stderr(|| block_on(prompt::deliver(&cfg, m, order, &dir, &proof)))?;
                print(
                    opts.json,
                    json!({
                        "order": order,
                        "seller": d.seller.to_string(),
                        "ciphertext_len": d.ciphertext.len(),
                        "gas_used": d.gas_used,
                        "prove_seconds": prove_secs,
                        "tx": hash(d.tx_hash),
                    }),
                    || {
                        println!(
                            "order {order} delivered: {} ciphertext elements published, price credited to {} (proved in {prove_secs:.1}s, gas {})",
                            d.ciphertext.len(),
                            d.seller,
                            d.gas_used
                        );
                    },
                )
            }
            MarketCmd::Decrypt {
                order,
                key,
                build,
                out,
                opts,
            } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                let build = BuildDir::new(&build);
                let d = block_on(prompt::decrypt(&cfg, m, order, &key, &build))?;
                // The bought prompt and its salt: owner-only.
                write_secret_json(&out, &d.input)?;
                print(
                    opts.json,
                    json!({
                        "order": order,
                        "prompt": d.quantized,
                        "salt": field_to_hex(&d.salt),
                        "input_file": out.display().to_string(),
                    }),
                    || {
                        println!(
                            "order {order}: the prompt opens the listed commitment; written to {}",
                            out.display()
                        );
                        println!("  quantized: {:?}", d.quantized);
                    },
                )
            }
            MarketCmd::Refund { order, opts } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                let tx = block_on(chain::refund(&cfg, m, order))?;
                print(opts.json, json!({"order": order, "tx": hash(tx)}), || {
                    println!("order {order} refunded: the price is credited to its buyer (withdraw to collect)");
                })
            }
            MarketCmd::Show { what, id, opts } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                if what == "listing" {
                    let l = block_on(chain::listing(&cfg, m, id))?;
                    print(opts.json, listing_json(&l), || {
                        println!(
                            "listing {}: seller {}, model {}, {}-value prompt, {}, {}",
                            l.id,
                            l.seller,
                            l.model_id,
                            l.prompt_len,
                            ether(l.price),
                            if l.active { "active" } else { "delisted" }
                        );
                        println!("  prompt commitment {}", word(l.prompt_commitment));
                        println!("  advertised output digest {}", hash(l.output_digest));
                    })
                } else {
                    let o = block_on(chain::order(&cfg, m, id))?;
                    print(opts.json, order_json(&o), || {
                        println!(
                            "order {}: listing {}, buyer {}, {}, {} (deadline {})",
                            o.id,
                            o.listing_id,
                            o.buyer,
                            ether(o.price),
                            o.status,
                            utc(o.deadline)
                        );
                    })
                }
            }
            MarketCmd::Withdraw { opts } => {
                let cfg = opts.rpc.config()?;
                let m = opts.address(&cfg)?;
                let amount = block_on(chain::withdraw(&cfg, m))?;
                print(
                    opts.json,
                    json!({"withdrawn_wei": amount.to_string()}),
                    || {
                        println!("withdrew {}", ether(amount));
                    },
                )
            }
        }
    }
}
